"""The lab page, second edition (issue #18): value-first labels that stay between lifelines, folded
repeats, zoom; why a process waits; stepping through a run with kernel objects drawn; finding
experiments and the example on landing; errors; weight (no probe, favicon, modulepreload); axe-core."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import expect

from labpage import PHONE, fixture_json, stub_runs

SHOTS = [({"width": 1440, "height": 900}, "desktop"), ({"width": 375, "height": 812}, "phone")]


def labels(lp: Any) -> dict[int, str]:
    return {int(k): v for k, v in lp.page.eval_on_selector_all(
        ".diagram-body .event", "els => els.map(e => [e.dataset.seq, e.querySelector('.event-label')?.textContent || ''])")}


def first_seq(trace: dict[str, Any], call: str, **args: Any) -> dict[str, Any]:
    return next(e for e in trace["events"] if e["call"] == call and all((e.get("args") or {}).get(k) == v for k, v in args.items()))


def test_labels_show_the_value_first_and_never_cross_a_lifeline(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = lp.open_and_capture("#experiment=mq.posix")
    got = labels(lp)
    for ev in trace["events"]:
        if ev["call"] == "mq_receive":
            assert got[ev["seq"]].startswith(f"prio {ev['args']['msg_prio']} "), got[ev["seq"]]
    trace = lp.open_and_capture("#experiment=socket.tcp")
    acc = first_seq(trace, "accept")
    assert labels(lp)[acc["seq"]].startswith(f"fd {acc['result']} ←")
    trace = lp.open_and_capture("#experiment=sem.fruit_plate")
    store = first_seq(trace, "store")
    fruit = store["payload"]["text"].rstrip("\x00")
    assert labels(lp)[store["seq"]].startswith(f'"{fruit}')
    # no label's box reaches over a lifeline other than its own
    crossings = lp.page.evaluate("""() => {
        const xs = [...document.querySelectorAll('.diagram-body .lifeline-line')].map(l => l.getBoundingClientRect().x);
        const out = [];
        for (const ev of document.querySelectorAll('.diagram-body .event')) {
            const t = ev.querySelector('.event-label'); if (!t) continue;
            const own = ev.querySelector('.mark').getBoundingClientRect(); const ox = own.x + own.width / 2;
            const b = t.getBoundingClientRect();
            for (const x of xs) if (Math.abs(x - ox) > 2 && x > b.left + 1 && x < b.right - 1) out.push(t.textContent);
        }
        return out; }""")
    assert crossings == []


def test_repeats_fold_and_the_run_fits_the_box(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = lp.open_and_capture("#experiment=signal.coalescing")
    # the longest row of kills one after another with nothing between them (another process's event,
    # such as the child's read returning, may cut the row anywhere)
    events = trace["events"]
    rows: list[list[int]] = []
    for i, e in enumerate(events):
        same = i > 0 and events[i - 1]["call"] == "kill" and events[i - 1]["process"] == e["process"]
        if e["call"] == "kill":
            if same:
                rows[-1].append(e["seq"])
            else:
                rows.append([e["seq"]])
    kills = max(rows, key=len)
    assert len(kills) >= 4, f"the kills were interleaved with other events: {[e['call'] for e in events]}"
    folded = lp.page.locator(f".diagram-body .event.folded[data-seq='{kills[0]}']")
    assert folded.count() == 1
    assert folded.locator(".event-label").text_content().endswith(f"×{len(kills)}")
    assert [int(x) for x in folded.get_attribute("data-members").split()] == kills
    # fit: the whole run in the box; zoom in: bigger again
    trace = lp.open_and_capture("#experiment=sem.fruit_plate")
    box = lp.page.locator("#diagram")
    body = lp.page.locator(".diagram-body")
    natural = float(body.get_attribute("height"))
    assert natural > box.evaluate("e => e.clientHeight")
    lp.page.click("#zoom-fit")
    head = float(lp.page.locator(".diagram-head").get_attribute("height"))
    assert float(body.get_attribute("height")) + head <= box.evaluate("e => e.clientHeight")
    assert lp.page.locator("#zoom-level").inner_text() != "100%"
    lp.page.click("#zoom-in")
    assert float(lp.page.locator(".diagram-body").get_attribute("height")) > natural * 0.3


def test_why_a_process_waits(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = lp.open_and_capture("#experiment=sem.fruit_plate")
    sleeps = [e for e in trace["events"] if e["call"] == "nanosleep"]
    for ev in sleeps:
        bar = lp.page.locator(f".diagram-body .blocked-bars [data-seq='{ev['seq']}']")
        assert "sleeping" in bar.get_attribute("class")
        assert bar.get_attribute("data-cause").startswith(f"asleep {ev['args']['ms']} ms")
    waited = set(expect.waited(trace))
    waits = [e for e in trace["events"] if e["call"] == "sem_wait" and e["args"].get("value_before") == 0
             and e["seq"] in waited]
    assert waits
    for ev in waits:
        bar = lp.page.locator(f".diagram-body .blocked[data-seq='{ev['seq']}']")
        assert bar.get_attribute("data-cause") == f"{ev['args']['channel']} = 0"
    assert lp.page.locator(".diagram-body .wait-cause.cause-blocked").count() >= 1
    # a hatch and dots look different
    fills = {lp.page.locator(f".diagram-body .{c}").first.evaluate("e => getComputedStyle(e).fill") for c in ("blocked", "sleeping")}
    assert len(fills) == 2
    # a read that waited for the writer (a hand-written trace, so the wait does not depend on timing)
    trace = fixture_json("pipe-hello.json")
    stub_runs(lp.page, trace)
    lp.page.goto(lp.base_url + "#experiment=pipe.hello")
    lp.wait_for_diagram(trace)
    read = first_seq(trace, "read")
    assert lp.page.locator(f".diagram-body .blocked[data-seq='{read['seq']}']").get_attribute("data-cause") == \
        f"pipe {read['args']['channel']} empty"


def test_step_through_with_objects_drawn(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = lp.open_and_capture("#experiment=mq.posix")
    events = trace["events"]
    sends = [e for e in events if e["call"] == "mq_send"]
    k = events.index(sends[-1]) + 1                      # the step of the last send
    slider = lp.page.locator("#step-slider")
    assert slider.get_attribute("max") == str(len(events))
    slider.focus()
    lp.page.keyboard.press("End")
    for _ in range(len(events) - k):
        lp.page.keyboard.press("ArrowLeft")
    assert slider.input_value() == str(k)
    prios = lp.page.eval_on_selector_all("#step-objects .queue .slot.full .prio", "els => els.map(e => e.textContent)")
    want = sorted((e["args"]["msg_prio"] for e in sends), reverse=True)
    assert prios == [f"p{p}" for p in want]
    assert lp.count(".diagram-body .future") > 0
    assert lp.count(f".diagram-body .event.now[data-seq='{sends[-1]['seq']}']") == 1
    # ▶ and "." move on; the first receive takes the highest priority out
    lp.page.click("#step-next")
    while int(slider.input_value()) < len(events) and events[int(slider.input_value()) - 1]["call"] != "mq_receive":
        lp.page.click("#step-next")
    assert len(lp.page.eval_on_selector_all("#step-objects .queue .slot.full", "els => els")) == len(sends) - 1
    lp.page.click("#step-prev")
    lp.page.focus(".diagram-body .event[tabindex='0']")
    before = slider.input_value()
    lp.page.keyboard.press(".")
    assert int(slider.input_value()) == int(before) + 1
    # a semaphore's value and who sleeps on it
    trace = lp.open_and_capture("#experiment=sem.fruit_plate")
    lp.page.locator(".diagram-body .event").first.focus()
    found = False
    for i in range(len(trace["events"])):
        lp.page.fill("#step-slider", str(i + 1))
        lp.page.dispatch_event("#step-slider", "input")
        if lp.count("#step-objects .semaphore .wait-chip") >= 1:
            found = True
            break
    assert found, "no step shows a process sleeping on a semaphore"
    sem = lp.page.locator("#step-objects .semaphore").first
    assert sem.get_attribute("data-value").isdigit()


def test_finding_experiments_and_the_example(lab_page: Any, catalog: dict[str, Any], artifacts: Path) -> None:
    lp = lab_page
    requests: list[str] = []
    lp.page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    lp.open()
    # opens on a ready example, not on an empty "Choose an experiment"; no run was asked for
    assert lp.page.locator("#results").get_attribute("data-example") == "true"
    assert lp.count(".diagram-body .event") > 0
    assert "Example run" in lp.page.locator("#banner").inner_text()
    assert not [r for r in requests if r.startswith("POST")], requests
    # start here: the first lab in order
    path = lp.page.eval_on_selector_all(".path-step", "els => els.map(e => e.dataset.experiment)")
    assert path[:3] == ["pipe.hello", "pipe.byte_stream", "pipe.eof"]
    # search over ids, titles and claims
    lp.page.fill("#exp-search", "priority")
    visible = lp.page.eval_on_selector_all(".card", "els => els.filter(e => e.offsetParent).map(e => e.dataset.experiment)")
    want = [i for i, e in catalog.items() if "priority" in f"{i} {e['title']} {e['claim']} {e['mechanism']}".lower()]
    assert sorted(visible) == sorted(want) and "mq.posix" in visible
    assert f"{len(want)} of {len(catalog)}" in lp.page.locator("#exp-search-count").inner_text()
    lp.page.fill("#exp-search", "zzzz-nothing")
    assert lp.page.locator("#no-match").is_visible()
    lp.page.fill("#exp-search", "")
    # Run replaces the example with a real run, and focus moves to the result
    status, trace = lp.run_and_capture(lambda: lp.page.click("#run"))
    lp.wait_for_diagram(trace)
    assert lp.page.locator("#results").get_attribute("data-example") == ""
    assert lp.page.evaluate("document.activeElement.id") == "banner"


def test_errors_are_short_and_honest(make_lab_page: Any, catalog: dict[str, Any], artifacts: Path) -> None:
    lp = make_lab_page(viewport=PHONE)
    lp.open_and_capture("#experiment=pipe.hello")
    # a bad field: no literal null anywhere in the banner
    lp.page.fill("#param-message", "x" * 5000)
    lp.page.click("#run")
    lp.page.locator("#banner.outcome-error").wait_for()
    assert "null" not in lp.page.locator("#banner").inner_text()
    # an unknown op: did you mean, the names not listed twice, the page no wider than the phone
    lp.page.click("#edit-scenario")
    text = json.dumps({"channels": [], "processes": [{"name": "m", "steps": [{"op": "slep", "ms": 1}]}]})
    lp.page.fill("#scenario-text", text)
    with lp.page.expect_response(lambda r: "/api/v1/runs" in r.url):
        lp.page.click("#scenario-run")
    lp.page.locator("#banner.outcome-error").wait_for()
    banner = lp.page.locator("#banner").inner_text()
    assert "did you mean" in banner and "sleep" in banner
    whole = lp.page.locator("body").inner_text()
    assert whole.count("store_int") <= 1, "the op names are listed more than once"
    assert lp.page.evaluate("document.documentElement.scrollWidth") <= 375
    assert "stale" in lp.page.locator("#results").get_attribute("class")
    lp.shot(artifacts / "second-unknown-op-phone.png")
    # invalid JSON: the old results fade, the banner says nothing ran
    lp.page.fill("#scenario-text", "{ not json")
    lp.page.click("#scenario-run")
    assert "Not run" in lp.page.locator("#banner").inner_text()
    assert "outcome-ok" not in lp.page.locator("#banner").get_attribute("class")
    assert "stale" in lp.page.locator("#results").get_attribute("class")


def test_server_status_is_refreshed(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    lp.page.clock.install()
    lp.open()
    health = lp.page.locator("#health")
    health.wait_for()
    lp.page.wait_for_function("() => document.querySelector('#health').dataset.status === 'ok'")
    lp.page.route("**/healthz", lambda r: r.abort())
    lp.page.clock.run_for(16_000)
    lp.page.wait_for_function("() => document.querySelector('#health').dataset.status === 'down'")
    assert "not answering" in health.inner_text()
    lp.page.unroute("**/healthz")
    lp.page.clock.run_for(16_000)
    lp.page.wait_for_function("() => document.querySelector('#health').dataset.status === 'ok'")


def test_a_broken_stream_keeps_what_arrived(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    lines = [{"type": "event", "event": {"seq": i + 1, "t_ns": 1000 * (i + 1), "process": "p", "call": "write",
                                          "args": {"fd": 4}, "result": 1}} for i in range(7)]
    body = "".join(json.dumps(x) + "\n" for x in lines)
    lp.page.route("**/api/v1/runs*", lambda r: r.fulfill(status=200, content_type="application/x-ndjson", body=body))
    lp.open("#experiment=pipe.hello&wall_ms=5000")
    live = lp.page.locator("#live .live-broken")
    live.wait_for()
    assert "after 7 events" in live.inner_text() and "#7" in live.inner_text()
    assert lp.page.locator("#live .live-count").inner_text().startswith("7 events")


def test_weight_no_probe_favicon_preload_no_console_errors(browser: Any, server: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(server.base_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_timeout(300)
    assert messages == []
    assert not [r for r in requests if r.startswith("POST")], "a request was sent on load"
    fav = page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)")
    assert fav == 200
    preloaded = set(page.eval_on_selector_all("link[rel=modulepreload]", "els => els.map(e => e.getAttribute('href'))"))
    public = Path(__file__).resolve().parents[2] / "public" / "js"
    assert preloaded == {f"js/{p.name}" for p in public.glob("*.js")}
    # static files: compressed for a browser, with a validator that answers 304
    js = page.request.get(server.base_url + "/js/app.js", headers={"Accept-Encoding": "gzip"})
    assert js.headers.get("content-encoding") == "gzip" and js.headers.get("etag")
    again = page.request.get(server.base_url + "/js/app.js",
                             headers={"Accept-Encoding": "gzip", "If-None-Match": js.headers["etag"]})
    assert again.status == 304
    context.close()


def test_static_validators_follow_the_contract(lab: Any) -> None:
    first = lab.get("/style.css", headers={"Accept-Encoding": "gzip"})
    assert first.status == 200 and first.headers["content-encoding"] == "gzip"
    assert first.body == (Path(__file__).resolve().parents[2] / "public" / "style.css").read_bytes()
    again = lab.get("/style.css", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]})
    assert again.status == 304 and again.body == b""
    assert lab.get("/style.css?v=1").headers["cache-control"] == "public, max-age=31536000, immutable"


def test_fixed_choices_are_dropdowns(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    for exp_id, name in (("shm.race", "sync"), ("sem.fruit_plate", "type"), ("bench.throughput", "placement")):
        p = next(q for q in catalog[exp_id]["parameters"] if q["name"] == name)
        assert p["choices"], f"{exp_id}.{name} publishes no choices"
        lp.open()
        lp.page.click(f".card[data-experiment='{exp_id}']")
        field = lp.page.locator(f"#param-{name}")
        assert field.evaluate("e => e.tagName") == "SELECT"
        assert field.evaluate("e => [...e.options].map(o => o.value)") == p["choices"]
        assert field.input_value() == p["default"]


AXE = None
try:
    import axe_playwright_python as _axe_pkg  # ships axe.min.js (axe-core); nothing is fetched
    AXE = Path(_axe_pkg.__file__).parent / "axe.min.js"
except ImportError:
    pass


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation(make_lab_page: Any, catalog: dict[str, Any], scheme: str) -> None:
    if AXE is None:
        pytest.fail("the accessibility scan needs axe-playwright-python (e2e/browser/requirements.txt)", pytrace=False)
    lp = make_lab_page(scheme=scheme)
    lp.open_and_capture("#experiment=sem.fruit_plate")
    lp.page.add_script_tag(path=str(AXE))
    result = lp.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == []


@pytest.mark.parametrize("viewport,size", SHOTS, ids=["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(make_lab_page: Any, catalog: dict[str, Any], artifacts: Path, viewport: dict[str, int],
                     size: str, scheme: str) -> None:
    lp = make_lab_page(viewport=viewport, scheme=scheme)
    lp.open()
    lp.shot(artifacts / f"second-landing-{size}-{scheme}.png", full_page=False)
    for exp_id in ("sem.fruit_plate", "signal.coalescing", "mq.posix", "socket.tcp", "shm.race"):
        lp.open_and_capture(f"#experiment={exp_id}")
        assert lp.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], exp_id
        lp.page.locator("#diagram").scroll_into_view_if_needed()
        lp.shot(artifacts / f"second-{exp_id}-{size}-{scheme}.png", full_page=False)
    lp.page.fill("#step-slider", "8")
    lp.page.dispatch_event("#step-slider", "input")
    lp.page.locator(".stepper").scroll_into_view_if_needed()
    lp.shot(artifacts / f"second-step-{size}-{scheme}.png", full_page=False)


def test_to_scale_starts_at_the_first_event(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    trace = fixture_json("pipe-hello.json")
    # the sandbox's set-up before the first event must not take the height: shift every time by 50 ms
    for ev in trace["events"]:
        ev["t_ns"] += 50_000_000
        if ev.get("end_ns") is not None:
            ev["end_ns"] += 50_000_000
    trace["run"]["duration_ns"] = trace["run"].get("duration_ns", 0) + 50_000_000
    stub_runs(lp.page, trace)
    lp.page.goto(lp.base_url + "#experiment=pipe.hello")
    lp.wait_for_diagram(trace)
    lp.page.check("input[name=mode][value=scale]")
    first = lp.page.locator(f".diagram-body .event[data-seq='{trace['events'][0]['seq']}'] .mark")
    top = lp.page.locator(".diagram-body").bounding_box()["y"]
    assert first.bounding_box()["y"] - top < 40
    height = float(lp.page.locator(".diagram-body").get_attribute("height"))
    last = lp.page.locator(f".diagram-body .event[data-seq='{trace['events'][-1]['seq']}'] .mark").bounding_box()["y"] - top
    assert last > height / 2, "the run's events are squeezed into the top of the diagram"
