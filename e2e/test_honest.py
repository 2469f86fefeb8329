"""Issue 15: observations hold only on evidence (each of the issue's cases as a regression test), and
the corrections to the course notes are in the catalog with observations that show the kernel's side."""

from __future__ import annotations

from oracle import disagreements, waited_for
from traces import calls, observation, process, run_ok


def cited(trace, o):
    return [trace["events"][s - 1] for s in o["evidence"]]


def assert_real_wait(trace, o, call, release):
    """The observation cites a call that began before, and returned after, the event that released it."""
    ev = cited(trace, o)
    blocked = [e for e in ev if e["call"] == call and e["errno"] is None]
    freed = [e for e in ev if e["call"] == release]
    assert blocked and freed, o
    assert waited_for(blocked[-1], freed[0]), (blocked[-1], freed[0])


def test_pipe_capacity_odd_chunks_stop_at_the_kernels_eagain(lab):
    trace = run_ok(lab, {"experiment": "pipe.capacity", "params": {"chunk_size": 1000}})
    assert trace["run"]["outcome"] == "ok" and trace["run"]["events_dropped"] == 0, trace["run"]
    fills = observation(trace, "pipe.capacity.fills_at_capacity")
    assert fills["holds"] and "64000 bytes waiting" in fills["detail"], fills
    waits = observation(trace, "pipe.capacity.full_write_waits")
    assert waits["holds"], waits
    assert_real_wait(trace, waits, "write", "read")
    assert not disagreements(trace, {"chunk_size": 1000})


def test_mq_full_one_message_no_delay_claims_no_wait_it_cannot_show(lab):
    for _ in range(5):
        trace = run_ok(lab, {"experiment": "mq.full", "params": {"max_messages": 1, "reader_delay_ms": 0}})
        o = observation(trace, "mq.full.full_send_waits")
        if o["holds"]:
            assert_real_wait(trace, o, "mq_send", "mq_receive")
        else:
            assert "waited" not in o["detail"], o
        assert not disagreements(trace, {"max_messages": 1, "reader_delay_ms": 0})


def test_socket_buffer_wait_is_bracketed(lab):
    trace = run_ok(lab, {"experiment": "socket.buffer"})
    o = observation(trace, "socket.buffer.full_send_waits")
    assert o["holds"], o
    assert_real_wait(trace, o, "send", "recv")


def test_byte_stream_is_validated_by_page_slots(lab):
    r = lab.run({"experiment": "pipe.byte_stream", "params": {"write_sizes": [2049] * 20}})
    assert r.status == 400, r.body[:300]
    assert r.json["error"]["path"] == "params.write_sizes" and "20 page-sized slots" in r.json["error"]["message"]
    trace = run_ok(lab, {"experiment": "pipe.byte_stream", "params": {"write_sizes": [2049] * 16, "read_sizes": [65536]}})
    assert trace["run"]["outcome"] == "ok"
    assert all("read as :" not in o["detail"] for o in trace["observations"])


def test_shm_sysv_both_processes_find_the_key_and_bytes_outlive_every_attach(lab):
    trace = run_ok(lab, {"experiment": "shm.sysv"})
    gets = [e for e in calls(trace, "shmget") if e["result"] is not None and e["result"] >= 0]
    assert {e["process"] for e in gets} == {"reader", "writer"} and len({e["result"] for e in gets}) == 1, gets
    assert {e["process"] for e in calls(trace, "ftok")} == {"reader", "writer"}
    o = observation(trace, "shm.sysv.data_shared")
    assert o["holds"], o
    attach = [e for e in cited(trace, o) if e["call"] == "shmat"][0]
    store = [e for e in cited(trace, o) if e["call"] == "store"][0]
    assert any(s["object"] == "seg" and s["state"].get("nattch") == 0 and store["end_ns"] < s["t_ns"] < attach["t_ns"]
               for s in trace["objects"])
    assert all(x["holds"] for x in trace["observations"]), trace["observations"]


def test_pipe_capacity_any_accepted_chunk_runs_to_full(lab):
    # A chunk so small that the fill could not be recorded is refused up front, not run into the events limit.
    r = lab.run({"experiment": "pipe.capacity", "params": {"chunk_size": 1}})
    assert r.status == 400 and r.json["error"]["path"] == "params.chunk_size", r.body[:300]
    trace = run_ok(lab, {"experiment": "pipe.capacity", "params": {"chunk_size": 11, "reader_delay_ms": 50}})
    assert trace["run"]["outcome"] == "ok" and trace["run"]["events_dropped"] == 0, trace["run"]
    assert all(o["holds"] for o in trace["observations"]), trace["observations"]
    assert not disagreements(trace, {"chunk_size": 11, "reader_delay_ms": 50})


def test_corrections_are_listed_with_observations_the_preset_carries(catalog):
    found = {(c["note"], e["id"]) for e in catalog.values() for c in e["corrections"]}
    assert {("001", "signal.coalescing"), ("000", "signal.pointer"), ("004", "shm.anonymous"), ("004", "shm.sysv"),
            ("002", "signal.fault"), ("001", "pipe.capacity")} <= found, found
    for e in catalog.values():
        for c in e["corrections"]:
            assert c["says"] and c["kernel"], c
            assert c["observation"] is None or c["observation"] in e["observations"], (e["id"], c)


def test_each_correction_observation_shows_the_kernel_side(lab, catalog):
    for e in catalog.values():
        for c in e["corrections"]:
            if c["observation"] is None:
                continue
            trace = run_ok(lab, {"experiment": e["id"]}, default_wall_ms=e["default_wall_ms"])
            assert observation(trace, c["observation"])["holds"], (e["id"], c)


def test_sigint_handler_status(lab):
    trace = run_ok(lab, {"experiment": "signal.sigint"})
    assert process(trace, "program")["exit"] == {"code": 255}
