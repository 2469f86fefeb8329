"""Long runs on the page: streamed with live progress (POST /api/v1/runs with Accept: application/x-ndjson),
and the bar chart of a measurement's figures.

The chart is a pure function of a trace's bench_* events (public/js/bench-chart.js). It is checked here
with fixtures/bench-rendering.json: a RENDERING FIXTURE with made-up figures in the shape the API contract
gives those events — not a measurement, and no claim about any mechanism. Live progress is checked against
the real server with a scenario that sleeps."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from labpage import DESKTOP, PHONE, fixture_json
from traces import sleeping_scenario

GIB = 2 ** 30
SLEEP_MS = 1500


def expected_figures(trace: dict[str, Any]) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    tp = {e["args"]["mechanism"]: e["args"]["bytes"] / e["args"]["elapsed_ns"] * 1e9 / GIB
          for e in trace["events"] if e["call"] == "bench_throughput"}
    lat = {e["args"]["mechanism"]: (e["args"]["p50_ns"] / 1e3, e["args"]["p99_ns"] / 1e3)
           for e in trace["events"] if e["call"] == "bench_latency"}
    return tp, lat


def fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def ndjson_of(trace: dict[str, Any]) -> str:
    """The stream the server would send for `trace`: event lines, progress lines, the trace last."""
    lines = []
    for e in trace["events"]:
        lines.append({"type": "event", "event": e})
        if e["call"] == "progress":
            a = e["args"]
            lines.append({"type": "progress", "process": e["process"], "bench": a["bench"], "mechanism": a["mechanism"],
                          "done": a["done"], "total": a["total"], "percent": e["result"]})
    lines.append({"type": "trace", "trace": trace})
    return "".join(json.dumps(o) + "\n" for o in lines)


def stub_stream(page: Any, trace: dict[str, Any]) -> list[str]:
    """Answer runs with the NDJSON stream of `trace`; answer the Accept header of each run seen."""
    seen: list[str] = []

    def handle(route: Any) -> None:
        if "format=" in route.request.url:
            route.continue_()
            return
        accept = route.request.headers.get("accept", "")
        seen.append(accept)
        if "application/x-ndjson" in accept:
            route.fulfill(status=200, content_type="application/x-ndjson", body=ndjson_of(trace))
        else:
            route.fulfill(status=200, content_type="application/json; charset=utf-8", body=json.dumps(trace))
    page.route("**/api/v1/runs*", handle)
    return seen


def check_chart(lp: Any, trace: dict[str, Any]) -> None:
    tp, lat = expected_figures(trace)
    page = lp.page
    page.wait_for_selector("#bench:not([hidden]) svg.bench-chart", timeout=10_000)
    # The figures the page computed, from its own module, equal ours.
    figures = page.evaluate("""async (events) => {
        const m = await import('./js/bench-chart.js');
        return m.benchFigures(events);
    }""", trace["events"])
    assert {f["mechanism"]: f["gibPerSecond"] for f in figures["throughput"]} == pytest.approx(tp)
    assert {f["mechanism"]: (f["p50Us"], f["p99Us"]) for f in figures["latency"]} == pytest.approx(lat)

    rows = page.eval_on_selector_all("svg[data-chart=bench-throughput] .bench-row", """els => els.map(g => ({
        mechanism: g.dataset.mechanism, label: g.getAttribute('aria-label'), tab: g.getAttribute('tabindex'),
        width: +g.querySelector('rect.bar').getAttribute('width'),
        value: g.querySelector('.bench-value').textContent }))""")
    assert [r["mechanism"] for r in rows] == list(tp)
    widest = max(rows, key=lambda r: r["width"])
    for r in rows:
        assert r["value"] == f"{fmt(tp[r['mechanism']])} GiB/s"
        assert r["tab"] == "0" and "GiB/s" in r["label"]
        # bar lengths are proportional to GiB/s
        assert r["width"] / widest["width"] == pytest.approx(tp[r["mechanism"]] / tp[widest["mechanism"]], rel=0.02)
    bars = page.eval_on_selector_all("svg[data-chart=bench-latency] .bench-row", """els => els.map(g => ({
        mechanism: g.dataset.mechanism,
        p50: +g.querySelector('rect[data-key=p50]').getAttribute('width'),
        p99: +g.querySelector('rect[data-key=p99]').getAttribute('width') }))""")
    assert [b["mechanism"] for b in bars] == list(lat)
    top = max((b["p99"] for b in bars), default=0)
    for b in bars:
        p50, p99 = lat[b["mechanism"]]
        assert b["p99"] / top == pytest.approx(p99 / max(v[1] for v in lat.values()), rel=0.02)
        assert b["p50"] / b["p99"] == pytest.approx(p50 / p99, rel=0.05, abs=0.02)
    # Nothing drawn outside its chart: every label and value fits in the SVG's width.
    overflow = page.evaluate("""() => [...document.querySelectorAll('svg.bench-chart')].flatMap(svg => {
        const w = svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('text')].filter(t => { const b = t.getBBox(); return b.x < -1 || b.x + b.width > w + 1; })
          .map(t => t.textContent); })""")
    assert overflow == []
    # The tables say the same numbers, for reading off exactly (and for screen readers).
    first = page.locator("#bench-chart table").first.locator("tbody tr").first.inner_text()
    assert page.locator("#bench-chart table").first.get_attribute("aria-labelledby")
    assert first.split("\t")[0] == "pipe" and fmt(tp["pipe"]) in first


@pytest.mark.parametrize("viewport,scheme", [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")],
                         ids=["desktop-light", "desktop-dark", "phone-light", "phone-dark"])
def test_bar_chart_of_a_fixture(make_lab_page: Any, artifacts: Any, viewport: dict[str, int], scheme: str) -> None:
    trace = fixture_json("bench-rendering.json")
    lp = make_lab_page(viewport=viewport, scheme=scheme)
    seen = stub_stream(lp.page, trace)
    lp.open()
    # A run given more than the default time is a long run: it is streamed.
    lp.page.goto(lp.base_url + "#experiment=pipe.hello&wall_ms=5000")
    lp.wait_for_diagram(trace)
    assert seen and "application/x-ndjson" in seen[-1]
    check_chart(lp, trace)
    # The live view was fed the stream's lines: one bar per process and mechanism, at its last percent.
    assert lp.page.locator("#live").is_hidden()
    live = lp.page.eval_on_selector_all("#live .live-bar", "els => els.map(e => [e.dataset.mechanism, e.dataset.bench, +e.dataset.percent])")
    want = {}
    for e in trace["events"]:
        if e["call"] == "progress":
            want[(e["args"]["mechanism"], e["args"]["bench"])] = e["result"]
    assert sorted(map(tuple, live)) == sorted((m, b, p) for (m, b), p in want.items())
    assert lp.page.locator("#live .live-count").inner_text() == f"{len(trace['events'])} events so far"
    overflow = lp.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    name = f"bench-chart-{viewport['width']}-{scheme}"
    lp.page.locator("#bench").screenshot(path=str(artifacts / f"{name}.png"))


def test_bar_chart_keyboard(lab_page: Any) -> None:
    trace = fixture_json("bench-rendering.json")
    lp = lab_page
    stub_stream(lp.page, trace)
    lp.open("#experiment=pipe.hello&wall_ms=5000")
    lp.wait_for_diagram(trace)
    lp.page.wait_for_selector("#bench:not([hidden]) .bench-row")
    lp.page.focus("svg[data-chart=bench-throughput] .bench-row")
    labels = []
    for _ in range(3):
        labels.append(lp.page.evaluate("document.activeElement.getAttribute('aria-label')"))
        lp.page.keyboard.press("Tab")
    assert labels[0].startswith("pipe: ") and labels[1].startswith("unix_stream: ") and labels[2].startswith("tcp: ")


def test_short_runs_are_not_streamed_and_show_no_chart(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    lp.open()
    trace = lp.open_and_capture("#experiment=pipe.hello")
    assert trace["run"]["outcome"] == "ok"
    assert lp.page.locator("#bench").is_hidden()
    assert lp.page.locator("#live").is_hidden()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_live_progress_from_the_real_server(make_lab_page: Any, artifacts: Any, viewport: dict[str, int]) -> None:
    """A long run on the real server: events are counted live, while the writer still sleeps."""
    lp = make_lab_page(viewport=viewport, scheme="light")
    lp.open()
    encoded = base64.urlsafe_b64encode(json.dumps(sleeping_scenario(SLEEP_MS)).encode()).decode().rstrip("=")
    started = time.monotonic()
    lp.page.goto(lp.base_url + f"#scenario={encoded}&wall_ms={SLEEP_MS + 3000}")
    lp.page.wait_for_function(
        "() => { const l = document.querySelector('#live'); const c = l && l.querySelector('.live-count');"
        " return l && !l.hidden && c && parseInt(c.textContent, 10) >= 4; }", timeout=10_000)
    seen_at = time.monotonic() - started
    shown = lp.page.locator("#live .live-count").inner_text()
    latest = lp.page.locator("#live .live-latest").inner_text()
    lp.page.locator("#live").screenshot(path=str(artifacts / f"live-progress-{viewport['width']}.png"))
    assert lp.page.locator("#results").get_attribute("data-run-id") in (None, ""), "the trace came before the live count"
    lp.page.wait_for_function("() => document.querySelector('#results').dataset.runId", timeout=15_000)
    done_at = time.monotonic() - started
    assert done_at - seen_at >= 0.4 * SLEEP_MS / 1000, \
        f"events counted at {seen_at:.2f} s and the trace shown at {done_at:.2f} s: not live"
    assert "events so far" in shown and latest.startswith("latest: ")
    assert lp.page.locator("#live").is_hidden()
    assert "outcome-ok" in lp.page.locator("#banner").get_attribute("class")
    assert lp.count(".diagram-body .lifeline") == 2


@pytest.mark.parametrize("viewport,scheme", [(DESKTOP, "dark"), (PHONE, "light")], ids=["desktop-dark", "phone-light"])
def test_live_bars_mid_run(make_lab_page: Any, artifacts: Any, viewport: dict[str, int], scheme: str) -> None:
    """The live view in the middle of a measurement (lines fed from the rendering fixture, cut at 40 %):
    one labelled progress bar per process and mechanism."""
    lp = make_lab_page(viewport=viewport, scheme=scheme)
    lp.open()
    lines = [
        {"type": "event", "event": e} for e in fixture_json("bench-rendering.json")["events"][:6]
    ] + [
        {"type": "progress", "process": "receiver", "bench": "throughput", "mechanism": "pipe", "done": 100, "total": 100, "percent": 100},
        {"type": "progress", "process": "receiver", "bench": "throughput", "mechanism": "unix_stream", "done": 40, "total": 100, "percent": 40},
        {"type": "progress", "process": "initiator", "bench": "latency", "mechanism": "pipe", "done": 3, "total": 10, "percent": 30},
    ]
    state = lp.page.evaluate("""async (lines) => {
        const { createLiveView } = await import('./js/live-progress.js');
        const view = createLiveView(document.querySelector('#live'));
        view.start('Live: bench.throughput');
        for (const l of lines) view.line(l);
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        return [...document.querySelectorAll('#live .live-bar')].map(b => {
            const p = b.querySelector('progress');
            return { label: document.querySelector(`label[for="${p.id}"]`).textContent, value: p.value, max: p.max };
        });
    }""", lines)
    assert state == [
        {"label": "pipe throughput · receiver", "value": 100, "max": 100},
        {"label": "unix_stream throughput · receiver", "value": 40, "max": 100},
        {"label": "pipe latency · initiator", "value": 30, "max": 100},
    ]
    assert lp.page.locator("#live .live-count").inner_text() == "6 events so far"
    lp.page.locator("#live").screenshot(path=str(artifacts / f"live-bars-{viewport['width']}-{scheme}.png"))


def test_measurements_are_grouped_and_streamed(lab_page: Any) -> None:
    """bench.* presets sit under "Measurements" (their mechanism word is the id prefix) and every run of
    one is streamed, whatever its time limit."""
    lp = lab_page
    catalog = fixture_json("experiments.json")
    for bench in ("throughput", "latency"):
        catalog["experiments"].append({
            "id": f"bench.{bench}", "mechanism": "bench", "title": f"Measure {bench}",
            "claim": "A rendering stand-in for the catalog entry.", "seed": "003", "parameters": [], "observations": []})
    lp.page.route("**/api/v1/experiments", lambda r: r.fulfill(
        status=200, content_type="application/json; charset=utf-8", body=json.dumps(catalog)))
    trace = fixture_json("bench-rendering.json")
    seen = stub_stream(lp.page, trace)
    lp.open()
    groups = lp.page.eval_on_selector_all(".group.mech h3", "els => els.map(e => e.firstChild.textContent)")
    assert groups == ["Pipes", "Semaphores", "Measurements"]
    assert lp.count(".group[data-mechanism='Measurements'] .card") == 2
    lp.page.click(".card[data-experiment='bench.throughput']")
    lp.page.click("#run")
    lp.wait_for_diagram(trace)
    assert seen == ["application/x-ndjson"]
    check_chart(lp, trace)


def test_a_real_measurement_from_the_page(lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    """bench.throughput on the real server, chosen and set from the form: the mechanisms are checkboxes,
    the time limit is the experiment's own, the run is streamed, and the chart shows this run's figures."""
    assert "bench.throughput" in catalog, "the server lists no bench.throughput"
    lp = lab_page
    lp.open()
    lp.page.click(".card[data-experiment='bench.throughput']")
    lp.page.wait_for_selector("#params .choices input[type=checkbox]")
    boxes = lp.page.eval_on_selector_all("#params .choices input[type=checkbox]",
                                         "els => els.map(e => [e.value, e.checked])")
    assert [b[0] for b in boxes] == catalog["bench.throughput"]["parameters"][0]["choices"]
    assert all(checked for _, checked in boxes), "every mechanism is measured by default"
    assert lp.page.input_value("#limit-wall_ms") == str(catalog["bench.throughput"]["default_wall_ms"])
    for name in ("unix_stream", "posix_mq"):
        lp.page.uncheck(f"#params .choices input[value={name}]")
    lp.page.fill("#param-total_bytes", str(8 * 2 ** 20))
    status, trace = lp.run_and_capture(lambda: lp.page.click("#run"))
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    lp.wait_for_diagram(trace)
    measured = [e["args"]["mechanism"] for e in trace["events"] if e["call"] == "bench_throughput"]
    assert measured == ["pipe", "tcp", "shm_ring"], measured
    assert all(e["result"] == 8 * 2 ** 20 for e in trace["events"] if e["call"] == "bench_throughput")
    check_chart(lp, trace)
    lp.page.locator("#bench").screenshot(path=str(artifacts / "bench-chart-real-run.png"))
    # all unchecked: the form says so beside the field and sends nothing
    for name in ("pipe", "tcp", "shm_ring"):
        lp.page.uncheck(f"#params .choices input[value={name}]")
    lp.page.click("#run")
    err = lp.page.locator("[data-field='params.mechanisms'] .field-error")
    err.wait_for(state="visible")
    assert "at least one" in err.inner_text()
