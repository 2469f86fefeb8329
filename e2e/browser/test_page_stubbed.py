"""The page at its limits, with runs the presets cannot make yet: the real server serves the page and the
catalog, and POST /api/v1/runs is answered with synthetic traces (synth.py) or a hand-written one."""

from __future__ import annotations

import json
from typing import Any

import pytest

import expect
import synth
from labpage import DESKTOP, PHONE, fixture_json, stub_runs


def open_stubbed(lp: Any, trace: dict[str, Any], catalog: dict[str, Any]) -> None:
    stub_runs(lp.page, trace)
    exp_id = next(iter(catalog))
    lp.page.goto(lp.base_url + f"#experiment={exp_id}")
    lp.wait_for_diagram(trace)


@pytest.mark.parametrize("viewport,scheme", [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light")],
                         ids=["desktop-light", "desktop-dark", "phone-light"])
def test_eight_processes_two_hundred_events(make_lab_page: Any, catalog: dict[str, Any], artifacts: Any,
                                            viewport: dict[str, int], scheme: str) -> None:
    trace = synth.crowd()
    assert len(trace["processes"]) == 8 and len(trace["events"]) >= 190
    lp = make_lab_page(viewport=viewport, scheme=scheme)
    open_stubbed(lp, trace, catalog)
    assert lp.count(".diagram-body .lifeline") == 8
    arrows = lp.page.eval_on_selector_all(
        ".diagram-body .transfer", "els => els.map(e => [+e.dataset.from, +e.dataset.to, +e.dataset.bytes])")
    assert sorted(map(tuple, arrows)) == sorted(expect.transfers(trace))
    # the two calls that never returned are drawn to the end of their lifelines
    assert lp.count(".diagram-body .blocked.never-returned") == 2
    # w7 was killed by SIGPIPE, the hub has no exit
    assert "SIGPIPE" in lp.page.locator(".process-end[data-process='w7']").text_content()
    assert "no exit" in lp.page.locator(".process-end[data-process='hub']").text_content()
    banner = lp.page.locator("#banner")
    assert "outcome-timeout" in banner.get_attribute("class")
    assert "wall-clock limit" in banner.inner_text()
    # the diagram scrolls inside its box; the page itself does not scroll sideways
    overflow = lp.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    box = lp.page.locator("#diagram")
    assert box.evaluate("e => e.scrollHeight > e.clientHeight")
    name = f"stub-crowd-{viewport['width']}-{scheme}"
    lp.shot(artifacts / f"{name}.png")
    box.screenshot(path=str(artifacts / f"{name}-diagram.png"))
    box.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    box.screenshot(path=str(artifacts / f"{name}-diagram-end.png"))
    lp.page.check("input[name=mode][value=scale]")
    assert lp.count(".diagram-body .transfer") == len(arrows)
    box.screenshot(path=str(artifacts / f"{name}-diagram-scale.png"))


def test_byte_stream_arrows_split_writes_across_reads(lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    trace = synth.byte_stream((10, 10, 10, 10), (5, 15, 15, 5))
    lp = lab_page
    open_stubbed(lp, trace, catalog)
    arrows = lp.page.eval_on_selector_all(".diagram-body .transfer", "els => els.map(e => +e.dataset.bytes)")
    # 10|10|10|10 read as 5|15|15|5: 5+5, 10, 5+10… six pieces
    assert sorted(arrows) == sorted([5, 5, 10, 10, 5, 5])
    assert lp.page.locator(".transfer-label").first.text_content().startswith("5 B")
    lp.page.locator("#diagram").screenshot(path=str(artifacts / "stub-byte-stream-diagram.png"))


def test_hand_written_hello_fixture(lab_page: Any, catalog: dict[str, Any]) -> None:
    trace = fixture_json("pipe-hello.json")
    lp = lab_page
    open_stubbed(lp, trace, catalog)
    label = lp.page.locator(".transfer .transfer-label").text_content()
    assert label == '6 B "Hello\\0"'
    # the child's lifeline starts at the parent's fork
    assert lp.count(".lifeline[data-process='child'] .spawn-line") == 1


def test_gallery_groups_by_mechanism(lab_page: Any) -> None:
    lp = lab_page
    catalog = json.loads(json.dumps(fixture_json("experiments.json")))
    lp.page.route("**/api/v1/experiments", lambda r: r.fulfill(
        status=200, content_type="application/json; charset=utf-8", body=json.dumps(catalog)))
    lp.open()
    # nothing ran yet: no empty result panels (the recorded example, when its experiment is listed, is
    # shown and marked as an example)
    if "pipe.hello" in [e["id"] for e in catalog["experiments"]]:
        assert lp.page.locator("#results").get_attribute("data-example") == "true"
    else:
        assert lp.page.locator("#results").is_hidden()
    groups = lp.page.eval_on_selector_all(".group.mech h3", "els => els.map(e => e.firstChild.textContent)")
    assert groups == ["Pipes", "Semaphores"]  # only groups with entries, in the course's order
    assert lp.count(".group[data-mechanism='Pipes'] .card") == 4


def test_server_busy_is_a_banner(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    lp.page.route("**/api/v1/runs*", lambda r: r.fulfill(
        status=503, headers={"Retry-After": "3"}, content_type="application/json; charset=utf-8",
        body=json.dumps({"error": {"code": "unavailable", "message": "The spawner is restarting.", "path": None}})))
    lp.open(f"#experiment={next(iter(catalog))}")
    banner = lp.page.locator("#banner.outcome-error")
    banner.wait_for(state="visible")
    assert "spawner is restarting" in banner.inner_text() and "3 s" in banner.inner_text()
