"""Every preset the server lists, run from the page: the diagram must show what the trace says."""

from __future__ import annotations

from typing import Any

import pytest

import expect
from labpage import PHONE


def check_diagram(lp: Any, trace: dict[str, Any]) -> None:
    page = lp.page
    procs = trace["processes"]
    # one lifeline per process, labelled "name (pid N)"
    assert lp.count(".diagram-body .lifeline") == len(procs)
    heads = page.locator(".diagram-head .lifeline-head")
    assert heads.count() == len(procs)
    for i, p in enumerate(procs):
        assert heads.nth(i).get_attribute("aria-label") == f"{p['name']} (pid {p['pid']})"
        assert page.locator(f".diagram-body .lifeline[data-process='{p['name']}']").count() == 1
    # one arrow per transfer, between the right events, with the right byte counts
    want = expect.transfers(trace)
    arrows = page.eval_on_selector_all(
        ".diagram-body .transfer",
        "els => els.map(e => [Number(e.dataset.from), Number(e.dataset.to), Number(e.dataset.bytes)])")
    assert sorted(map(tuple, arrows)) == sorted(want)
    # bytes conserved per the arrows: every byte a receive on a channel got came with an arrow
    # (channels where a killed process's send has no recorded result are left out, see expect.py)
    skip = expect.unattributable_channels(trace)
    channel_of = {e["seq"]: (e.get("args") or {}).get("channel") for e in trace["events"]}
    assert sum(a[2] for a in arrows if channel_of.get(a[1]) not in skip) == expect.received(trace)
    # one dashed signal arrow per kill/sigqueue → the delivery it caused, labelled with the signal
    sigs = page.eval_on_selector_all(
        ".diagram-body .signal",
        "els => els.map(e => [Number(e.dataset.from), Number(e.dataset.to), e.dataset.signal])")
    assert sorted(map(tuple, sigs)) == sorted(expect.signals(trace))
    for s_from, s_to, name in expect.signals(trace):
        line = page.locator(f".diagram-body .signal[data-to='{s_to}'] .signal-line")
        assert line.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("", "none")
        assert name in page.locator(f".diagram-body .signal[data-to='{s_to}'] title").text_content()
    # one dotted arrow per semaphore wake-up: the sem_post → the sem_wait that slept until it
    rel = page.eval_on_selector_all(
        ".diagram-body .release",
        "els => els.map(e => [Number(e.dataset.from), Number(e.dataset.to), e.dataset.channel])")
    assert sorted(map(tuple, rel)) == sorted(expect.releases(trace))
    # a bar per call with a span, hatched where it waited; an end mark per process, a mark per event
    # (blocked on an object, asleep on a timer, or running: each drawn its own way, with its cause)
    waited = ".diagram-body .blocked, .diagram-body .sleeping, .diagram-body .running"
    assert sorted(int(x) for x in page.eval_on_selector_all(
        waited, "els => els.map(e => e.dataset.seq)")) == expect.waited(trace)
    assert all(page.eval_on_selector_all(waited, "els => els.map(e => e.dataset.cause)"))
    assert sorted(int(x) for x in page.eval_on_selector_all(
        waited + ", .diagram-body .call-span", "els => els.map(e => e.dataset.seq)")) == expect.spans(trace)
    assert lp.count(".diagram-body .process-end") == len(procs)
    # a mark per event, a run of one call folded into one mark that names every event it stands for
    members = page.eval_on_selector_all(".diagram-body .event", "els => els.flatMap(e => e.dataset.members.split(' ').map(Number))")
    assert sorted(members) == sorted(e["seq"] for e in trace["events"])
    # the table and the observations
    assert lp.count(".events-table tbody tr") == len(trace["events"])
    assert lp.count(".observations li") == len(trace["observations"])
    held = sum(1 for o in trace["observations"] if o["holds"])
    assert lp.count(".observations .obs-mark.holds") == held
    # the banner says how it ended
    banner = page.locator("#banner")
    assert f"outcome-{trace['run']['outcome']}" in banner.get_attribute("class")


def test_every_preset_draws_its_trace(lab_page: Any, catalog: dict[str, dict[str, Any]], artifacts: Any) -> None:
    assert catalog, "the server lists no experiments"
    lp = lab_page
    lp.open()
    # the gallery shows every experiment once, grouped by mechanism
    assert lp.count(".gallery-pane .card") == len(catalog)
    for exp_id, exp in catalog.items():
        card = lp.page.locator(f".card[data-experiment='{exp_id}']")
        assert exp["title"] in card.inner_text()
        # choose it from the gallery, then Run, as a student would
        card.click()
        for p in exp["parameters"]:
            assert lp.count(f"#param-{p['name']}") == 1, f"{exp_id}: no field for {p['name']}"
        status, trace = lp.run_and_capture(lambda: lp.page.click("#run"))
        assert status == 200, trace
        lp.wait_for_diagram(trace)
        assert trace["run"]["experiment"] == exp_id
        check_diagram(lp, trace)
        lp.shot(artifacts / f"preset-{exp_id}.png")
        lp.page.locator("#diagram").screenshot(path=str(artifacts / f"preset-{exp_id}-diagram.png"))
        lp.page.check("input[name=mode][value=scale]")
        check_diagram(lp, trace)
        lp.page.locator("#diagram").screenshot(path=str(artifacts / f"preset-{exp_id}-diagram-scale.png"))
        lp.page.check("input[name=mode][value=order]")


MECHANISMS = {
    # mechanism: presets, the first the server lists is drawn (each shows something the others do not)
    "pipe": ["pipe.byte_stream", "pipe.hello"],
    "fifo": ["fifo.rendezvous"],
    "shm": ["shm.sysv", "shm.anonymous"],
    "sem": ["sem.producer_consumer", "sem.mutex"],
    "mq": ["mq.posix", "mq.sysv"],
    "signal": ["signal.coalescing", "signal.handshake"],
    "socket": ["socket.socketpair", "socket.tcp"],
}


@pytest.mark.parametrize("mechanism", list(MECHANISMS))
def test_each_mechanism_is_drawn(lab_page: Any, catalog: dict[str, Any], artifacts: Any, mechanism: str) -> None:
    """One preset per mechanism, from a link: lifelines, arrows, signals, and its kernel objects charted."""
    exp_id = next((e for e in MECHANISMS[mechanism] if e in catalog),
                  next((e for e, x in catalog.items() if x.get("mechanism") == mechanism), None))
    assert exp_id, f"the server lists no {mechanism} experiment"
    lp = lab_page
    trace = lp.open_and_capture(f"#experiment={exp_id}")
    check_diagram(lp, trace)
    if mechanism == "sem":
        # the consumer sleeps on "full" until the producer's first post: at least that wake-up is drawn
        assert expect.releases(trace), "no sem_wait was woken by a sem_post in this run"
        assert lp.count(".diagram-body .release") >= 1
    # one chart per kernel object with a numeric field, each field drawn and labelled by its snapshot name
    objects: dict[str, set[str]] = {}
    for o in trace.get("objects") or []:
        nums = {k for k, v in (o.get("state") or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        objects.setdefault(o["object"], set()).update(nums)
    charted = [name for name, nums in objects.items() if nums]
    assert lp.count("#objects figure.object") == len(objects)
    for name in charted:
        fig = lp.page.locator(f"#objects figure.object[data-object='{name}']")
        assert fig.count() == 1, name
    assert lp.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert not lp.errors, lp.errors
    lp.shot(artifacts / f"mechanism-{mechanism}.png")
    lp.page.locator("#diagram").screenshot(path=str(artifacts / f"mechanism-{mechanism}-diagram.png"))
    lp.page.locator("#objects").screenshot(path=str(artifacts / f"mechanism-{mechanism}-objects.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("wanted", ["pipe.byte_stream", "signal.handshake", "sem.mutex"])
def test_byte_stream_is_readable_on_a_phone(make_lab_page: Any, catalog: dict[str, Any], artifacts: Any,
                                            scheme: str, wanted: str) -> None:
    exp_id = wanted if wanted in catalog else next(iter(catalog))
    lp = make_lab_page(viewport=PHONE, scheme=scheme)
    trace = lp.open_and_capture(f"#experiment={exp_id}")
    check_diagram(lp, trace)
    # nothing wider than the phone except inside the scrolling diagram and table
    overflow = lp.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 375px"
    lp.shot(artifacts / f"phone-{exp_id}-{scheme}.png")
