"""Inspecting a run: hover/focus details, keyboard moves, filters, observation evidence, object chart."""

from __future__ import annotations

from typing import Any


def first_transfer_trace(lp: Any, catalog: dict[str, Any]) -> dict[str, Any]:
    exp_id = "pipe.hello" if "pipe.hello" in catalog else next(iter(catalog))
    return lp.open_and_capture(f"#experiment={exp_id}")


def test_hover_and_focus_show_the_call(lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    lp = lab_page
    trace = first_transfer_trace(lp, catalog)
    ev = next((e for e in trace["events"] if e["call"] == "read"), trace["events"][0])
    lp.page.hover(f".diagram-body .event[data-seq='{ev['seq']}'] .mark")
    tip = lp.page.locator("#event-tip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert f"#{ev['seq']}" in text and ev["call"] in text and ev["process"] in text
    assert str(ev["result"]) in text
    lp.shot(artifacts / "inspect-hover.png", full_page=False)
    # the table row shows the same on focus
    lp.page.mouse.move(0, 0)
    row = lp.page.locator(f".events-table tr[data-seq='{ev['seq']}']")
    row.focus()
    assert tip.is_visible() and f"#{ev['seq']}" in tip.inner_text()
    lp.page.keyboard.press("Escape")
    assert tip.is_hidden()


def test_keyboard_walks_the_diagram(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = first_transfer_trace(lp, catalog)
    seqs = sorted(e["seq"] for e in trace["events"])
    # exactly one diagram event is in the tab order
    assert lp.count(".diagram-body .event[tabindex='0']") == 1
    lp.page.focus(".diagram-body .event[tabindex='0']")
    lp.page.keyboard.press("ArrowDown")
    lp.page.keyboard.press("ArrowDown")
    focused = lp.page.evaluate("document.activeElement.dataset.seq")
    assert int(focused) == seqs[2]
    lp.page.keyboard.press("Enter")
    assert f"#{seqs[2]}" in lp.page.locator("#selected").inner_text()
    assert lp.count(f".events-table tr.selected[data-seq='{seqs[2]}']") == 1
    lp.page.keyboard.press("End")
    assert int(lp.page.evaluate("document.activeElement.dataset.seq")) == seqs[-1]


def test_table_filters(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = first_transfer_trace(lp, catalog)
    p = trace["processes"][-1]["name"]
    lp.page.select_option("#filter-process", p)
    assert lp.count(".events-table tbody tr:visible") == sum(1 for e in trace["events"] if e["process"] == p)
    call = trace["events"][-1]["call"]
    lp.page.select_option("#filter-call", call)
    assert lp.count(".events-table tbody tr:visible") == sum(
        1 for e in trace["events"] if e["process"] == p and e["call"] == call)
    lp.page.select_option("#filter-process", "")
    lp.page.select_option("#filter-call", "")
    assert lp.count(".events-table tbody tr:visible") == len(trace["events"])


def test_observation_highlights_its_evidence(lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    lp = lab_page
    trace = first_transfer_trace(lp, catalog)
    obs = next((o for o in trace["observations"] if o["evidence"]), None)
    assert obs, "the run has no observation with evidence"
    button = lp.page.locator(f".obs-button[data-observation='{obs['id']}']")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    marked = sorted(int(x) for x in lp.page.eval_on_selector_all(
        ".events-table tr.evidence", "els => els.map(e => e.dataset.seq)"))
    assert marked == sorted(set(obs["evidence"]))
    in_diagram = sorted(int(x) for x in lp.page.eval_on_selector_all(
        ".diagram-body .event.evidence", "els => els.map(e => e.dataset.seq)"))
    assert in_diagram == sorted(set(obs["evidence"]))
    lp.shot(artifacts / "inspect-evidence.png")
    button.click()
    assert lp.count(".events-table tr.evidence") == 0


def test_object_chart_when_the_trace_has_objects(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = first_transfer_trace(lp, catalog)
    names = {o["object"] for o in trace["objects"]}
    charts = lp.page.locator("#objects figure")
    if names:
        assert charts.count() >= len(names)
        assert lp.count("#objects .point") >= len(trace["objects"])
    else:
        assert charts.count() == 0
