"""Accessibility basics in the real browser: labelled controls, keyboard reach, both colour schemes."""

from __future__ import annotations

from typing import Any

from labpage import PHONE

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => !el.closest('[hidden]') && el.type !== 'hidden')
  .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label') ||
                  el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_has_a_label(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    for exp_id in catalog:
        lp.open_and_capture(f"#experiment={exp_id}")
        assert lp.page.evaluate(UNLABELLED) == [], exp_id
    lp.page.click("#edit-scenario")
    lp.page.wait_for_selector("#scenario-text")
    assert lp.page.evaluate(UNLABELLED) == []


def test_keyboard_reaches_run_diagram_table_and_observations(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    lp.open_and_capture(f"#experiment={exp_id}")
    lp.page.focus("body")
    reached: list[str] = []
    for _ in range(120):
        lp.page.keyboard.press("Tab")
        reached.append(lp.page.evaluate("""(() => { const a = document.activeElement;
            if (a.matches('.card')) return 'card';
            if (a.id === 'run') return 'run';
            if (a.matches('.diagram-body .event')) return 'diagram-event';
            if (a.matches('.events-table tr')) return 'table-row';
            if (a.matches('.obs-button')) return 'observation';
            if (a.id === 'download-json') return 'download';
            return a.tagName.toLowerCase(); })()"""))
    for want in ("card", "run", "diagram-event", "table-row", "observation", "download"):
        assert want in reached, f"Tab never reaches {want}: {reached}"
    # the focus ring is visible on the run button (not suppressed)
    lp.page.focus("#run")
    outline = lp.page.evaluate("getComputedStyle(document.querySelector('#run')).outlineStyle")
    assert outline != "none"


def test_dark_scheme_changes_the_colours(make_lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    exp_id = next(iter(catalog))
    bgs = {}
    for scheme in ("light", "dark"):
        lp = make_lab_page(viewport=PHONE, scheme=scheme)
        lp.open_and_capture(f"#experiment={exp_id}")
        bgs[scheme] = lp.page.evaluate("getComputedStyle(document.body).backgroundColor")
        lp.shot(artifacts / f"phone-{exp_id}-{scheme}-full.png")
    assert bgs["light"] != bgs["dark"]
