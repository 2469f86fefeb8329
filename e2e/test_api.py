"""The API does what the contract says, and the traces show what the kernel really did."""

from __future__ import annotations

import re
import threading
import time

import pytest

from harness import Lab
from contract import CONTRACT_SCENARIO, REPO, validate_schema
from harness import preset_ids
from traces import TOP_LEVEL_KEYS, calls, check_trace, payload_bytes, process, results, run_ok

FOUNDATION_PRESETS = ["pipe.hello", "pipe.byte_stream", "pipe.eof", "pipe.capacity"]
# `[   0.120345 ms] child(3)   write(4, "Hello\0", 6) = 6` (lines starting with `#` are comments)
TEXT_LINE = re.compile(r"^\[\s*\d+\.\d+ ms\] ([a-z][a-z0-9_]*)\((\d+)\)\s+([a-z_][a-z0-9_]*)\(.*\S.* = \S")


# ------------------------------------------------------------------ catalog


def test_catalog_lists_the_foundation_presets(catalog):
    for exp_id in FOUNDATION_PRESETS:
        assert exp_id in catalog, f"{exp_id} missing from {sorted(catalog)}"
        exp = catalog[exp_id]
        assert exp["mechanism"] == "pipe"
        assert isinstance(exp["parameters"], list)
        assert exp["observations"], f"{exp_id} has no observations"
        for obs in exp["observations"]:
            assert obs.startswith(exp_id + "."), obs
        for p in exp["parameters"]:
            assert p["name"] not in {q["name"] for q in exp["parameters"] if q is not p}, p
            lo, hi = p.get("minimum"), p.get("maximum")
            if p["default"] is not None and p["type"] == "integer_array":
                assert (p.get("min_items") or 0) <= len(p["default"]) <= (p.get("max_items") or 10**9), p
                for v in p["default"]:
                    assert (lo is None or lo <= v) and (hi is None or v <= hi), p
            if p["default"] is not None and p["type"] == "integer":
                assert (lo is None or lo <= p["default"]) and (hi is None or p["default"] <= hi), p
            if p["default"] is not None and p["type"] == "string" and p.get("max_length") is not None:
                assert len(p["default"]) <= p["max_length"], p


def test_catalog_parameters_of_the_contract(catalog):
    params = {p["name"]: p for p in catalog["pipe.byte_stream"]["parameters"]}
    assert params["write_sizes"]["type"] == "integer_array"
    assert params["read_sizes"]["type"] == "integer_array"
    eof = {p["name"]: p for p in catalog["pipe.eof"]["parameters"]}
    assert eof["close_unused_ends"]["type"] == "boolean"
    assert eof["close_unused_ends"]["default"] is True


def test_catalog_ids_are_unique(lab):
    ids = [e["id"] for e in lab.get("/api/v1/experiments").json["experiments"]]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("exp_id", FOUNDATION_PRESETS)
def test_one_experiment_has_its_scenario(lab, catalog, exp_id):
    r = lab.get(f"/api/v1/experiments/{exp_id}")
    assert r.status == 200
    detail = r.json
    scenario = detail.pop("scenario")
    assert detail == catalog[exp_id], "the entry differs from its catalog listing"
    validate_schema(scenario, "Scenario", f"{exp_id}'s scenario")
    assert scenario["processes"]


# -------------------------------------------------------------------- presets


@pytest.mark.parametrize("exp_id", FOUNDATION_PRESETS)
def test_preset_with_empty_params(lab, catalog, exp_id):
    trace = run_ok(lab, {"experiment": exp_id, "params": {}})
    assert set(trace) == TOP_LEVEL_KEYS
    assert trace["run"]["experiment"] == exp_id
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert trace["run"]["events_dropped"] == 0
    assert trace["events"], "no events"
    assert [o["id"] for o in trace["observations"]] == catalog[exp_id]["observations"]
    for obs in trace["observations"]:
        assert obs["holds"] is True, obs
        assert obs["evidence"], f"{obs['id']} holds without evidence"
    for p in trace["processes"]:
        assert p["exit"] is not None, p


def test_preset_without_params(lab):
    trace = run_ok(lab, {"experiment": "pipe.hello"})
    assert trace["run"]["outcome"] == "ok"


def test_pipe_hello_delivers_hello(lab):
    trace = run_ok(lab, {"experiment": "pipe.hello"})
    reads = [e for e in calls(trace, "read") if e["result"]]
    assert reads, "nobody read anything"
    assert payload_bytes(reads).startswith(b"Hello")
    writes = [e for e in calls(trace, "write") if e["result"]]
    assert sum(e["result"] for e in writes) == sum(e["result"] for e in reads)


def test_byte_stream_reads_the_sizes_asked_for(lab):
    trace = run_ok(lab, {"experiment": "pipe.byte_stream",
                         "params": {"write_sizes": [7, 3, 11], "read_sizes": [4, 4, 13]}})
    assert trace["run"]["outcome"] == "ok"
    assert results(trace, "write") == [7, 3, 11]
    reads = results(trace, "read")
    assert reads[:3] == [4, 4, 13], reads
    assert all(r == 0 for r in reads[3:]), reads
    written = payload_bytes(calls(trace, "write"))
    read = payload_bytes(calls(trace, "read"))
    assert len(written) == len(read) == 21 and written == read
    assert all(o["holds"] for o in trace["observations"]), trace["observations"]


def test_eof_preset_sees_eof(lab):
    trace = run_ok(lab, {"experiment": "pipe.eof"})
    assert 0 in results(trace, "read"), "no read returned 0 (EOF)"


def test_eof_without_closing_unused_ends_is_a_deadlock(lab):
    # The reader keeps its own write end: nobody can ever close the last one. The run's init sees every
    # live process blocked for good and ends the run at once (before its wall limit) as a deadlock.
    started = time.monotonic()
    trace = run_ok(lab, {"experiment": "pipe.eof", "params": {"close_unused_ends": False},
                         "limits": {"wall_ms": 5000}})
    elapsed = time.monotonic() - started
    run = trace["run"]
    assert run["outcome"] == "deadlock", run
    assert "its only open write end is reader's own" in run["reason"], run["reason"]
    assert run["duration_ns"] < 3e9, run["duration_ns"]
    assert elapsed < 5, f"the request took {elapsed:.1f} s"
    stuck = [e for e in calls(trace, "read") if not e["returned"]]
    assert stuck, "the reader's last read should never have returned"
    assert 0 not in results(trace, "read"), "a read saw EOF although a write end stayed open"


def test_capacity_preset_shows_the_capacity(lab):
    trace = run_ok(lab, {"experiment": "pipe.capacity"})
    # The fill also sets and clears O_NONBLOCK with fcntl (F_GETFL/F_SETFL): only the size commands report a size.
    sizes = [e["result"] for e in trace["events"] if e["call"] == "fcntl" and e["args"].get("cmd") in ("F_GETPIPE_SZ", "F_SETPIPE_SZ")
             and e["result"] and e["result"] > 0] + [r for r in results(trace, "get_pipe_size") if r and r > 0]
    pipe_states = [o["state"] for o in trace["objects"] if o["kind"] == "pipe"]
    capacities = {s.get("capacity") for s in pipe_states} - {None}
    assert sizes or capacities, "no capacity anywhere in the trace"
    for c in capacities | set(sizes):
        assert c >= 4096 and c & (c - 1) == 0, f"{c} is not a page-multiple power of two"


# ------------------------------------------------------------------ text


def test_text_format_is_one_line_per_event(lab):
    body = {"experiment": "pipe.byte_stream", "params": {"write_sizes": [7, 3, 11], "read_sizes": [4, 4, 13]}}
    r = lab.run(body, params={"format": "text"})
    assert r.status == 200, r.body[:500]
    assert r.content_type.startswith("text/plain"), r.content_type
    lines = [line for line in r.text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines, "no event lines in the text trace"
    parsed = []
    for line in lines:
        m = TEXT_LINE.match(line)
        assert m, f"not an event line: {line!r}"
        parsed.append((m.group(1), m.group(3)))
    trace = run_ok(lab, body)
    assert sorted(parsed) == sorted((e["process"], e["call"]) for e in trace["events"])


def test_explicit_json_format(lab):
    r = lab.run({"experiment": "pipe.hello"}, params={"format": "json"})
    assert r.status == 200
    assert set(r.json) == TOP_LEVEL_KEYS


def test_json_content_type_with_charset_is_accepted(lab):
    r = lab.request("POST", "/api/v1/runs", data=b'{"experiment": "pipe.hello"}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200, r.body[:500]


# ------------------------------------------------------------- scenarios

# The contract's example without its (unused) FIFO channel: pipe.c as a scenario.
HELLO = {**CONTRACT_SCENARIO, "channels": [c for c in CONTRACT_SCENARIO["channels"] if c["kind"] == "pipe"]}


def test_custom_scenario_runs(lab):
    trace = run_ok(lab, {"scenario": HELLO, "limits": {"wall_ms": 500}})
    run = trace["run"]
    assert run["experiment"] is None
    assert run["outcome"] == "ok", run
    assert [p["name"] for p in trace["scenario"]["processes"]] == ["parent", "child"]
    assert results(trace, "write", "child") == [5]
    reads = calls(trace, "read", "parent")
    assert [e["result"] for e in reads] == [5], "a read of 6 from a pipe holding 5 returns 5"
    assert reads[0]["payload"]["hex"] == b"Hello".hex()
    assert process(trace, "child")["exit"] == {"code": 0}
    assert process(trace, "parent")["exit"] == {"code": 0}
    assert process(trace, "child")["parent"] == "parent"


def test_fifo_rendezvous(lab):
    scenario = {
        "channels": [{"name": "f", "kind": "fifo", "path": "/tmp/lab.fifo"}],
        "processes": [
            {"name": "reader", "steps": [{"op": "open", "channel": "f", "end": "read"},
                                         {"op": "read", "channel": "f", "size": 16},
                                         {"op": "wait", "process": "writer"}]},
            {"name": "writer", "steps": [{"op": "open", "channel": "f", "end": "write"},
                                         {"op": "write", "channel": "f", "data": "fifo!"}]},
        ],
    }
    trace = run_ok(lab, {"scenario": scenario})
    assert trace["run"]["outcome"] == "ok", trace["run"]
    made = calls(trace, "mkfifo")
    assert [(e["result"], e["errno"]) for e in made] == [(0, None)], f"mkfifo: {made}"
    opens = [e for e in trace["events"] if e["call"] in ("open", "openat")]
    assert sorted(e["process"] for e in opens) == ["reader", "writer"], opens
    assert all(e["result"] >= 0 for e in opens), [(e["process"], e["result"], e["errno"]) for e in opens]
    assert results(trace, "read", "reader") == [5]
    assert payload_bytes(calls(trace, "read", "reader")) == b"fifo!"


def test_nonblocking_read_on_an_empty_pipe_fails_with_eagain(lab):
    scenario = {"channels": [{"name": "p", "kind": "pipe"}],
                "processes": [{"name": "solo", "steps": [
                    {"op": "set_nonblocking", "channel": "p", "end": "read"},
                    {"op": "read", "channel": "p", "size": 1}]}]}
    trace = run_ok(lab, {"scenario": scenario})
    (read,) = calls(trace, "read")
    assert read["errno"] == "EAGAIN" and read["result"] == -1, read
    assert process(trace, "solo")["exit"] == {"code": 0}


def test_pipe_size_and_fill_until_eagain(lab):
    scenario = {"channels": [{"name": "p", "kind": "pipe"}],
                "processes": [{"name": "solo", "steps": [
                    {"op": "set_pipe_size", "channel": "p", "size": 8192},
                    {"op": "get_pipe_size", "channel": "p"},
                    {"op": "set_nonblocking", "channel": "p", "end": "write"},
                    {"op": "fill", "channel": "p", "size": 4096}]}]}
    trace = run_ok(lab, {"scenario": scenario})
    by_step = {}
    for e in trace["events"]:
        by_step.setdefault(e["step"], []).append(e)
    assert any(e["result"] == 8192 for e in by_step.get(1, [])), f"F_GETPIPE_SZ: {by_step.get(1)}"
    writes = calls(trace, "write")
    assert writes[-1]["errno"] == "EAGAIN", writes[-1]
    assert sum(e["result"] for e in writes[:-1]) == 8192, [e["result"] for e in writes]


def test_writing_with_no_reader_dies_of_sigpipe(lab):
    scenario = {"channels": [{"name": "p", "kind": "pipe"}],
                "processes": [{"name": "solo", "steps": [
                    {"op": "close", "channel": "p", "end": "read"},
                    {"op": "write", "channel": "p", "data": "x"}]}]}
    trace = run_ok(lab, {"scenario": scenario})
    assert process(trace, "solo")["exit"] == {"signal": "SIGPIPE", "core_dumped": False}
    (write,) = calls(trace, "write")
    assert not write["returned"] or write["errno"] == "EPIPE", write


def test_repeat_and_read_all(lab):
    scenario = {"channels": [{"name": "p", "kind": "pipe"}],
                "processes": [
                    {"name": "parent", "steps": [{"op": "close", "channel": "p", "end": "write"},
                                                 {"op": "wait", "process": "child"},
                                                 {"op": "read_all", "channel": "p", "size": 4}]},
                    {"name": "child", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                                {"op": "write", "channel": "p", "data": "ab", "repeat": 3},
                                                {"op": "exit", "code": 3}]}]}
    trace = run_ok(lab, {"scenario": scenario})
    assert results(trace, "write", "child") == [2, 2, 2]
    assert results(trace, "read", "parent") == [4, 2, 0]
    assert payload_bytes(calls(trace, "read", "parent")) == b"ababab"
    assert process(trace, "child")["exit"] == {"code": 3}
    waits = [e for e in trace["events"] if e["call"] in ("wait", "waitpid", "wait4")]
    assert [e["result"] for e in waits] == [process(trace, "child")["pid"]], waits


@pytest.mark.parametrize("exp_id", FOUNDATION_PRESETS)
def test_a_preset_scenario_runs_as_a_custom_scenario(lab, exp_id):
    scenario = lab.get(f"/api/v1/experiments/{exp_id}").json["scenario"]
    trace = run_ok(lab, {"scenario": scenario})
    assert trace["run"]["experiment"] is None
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert [p["name"] for p in trace["processes"]] == [p["name"] for p in scenario["processes"]]


def test_runs_in_parallel(lab):
    errors: list[str] = []

    def worker() -> None:
        client = Lab(lab.server)  # one connection pool per thread
        for _ in range(5):
            try:
                r = client.run({"experiment": "pipe.hello"})
                if r.status != 200 or r.json["run"]["outcome"] != "ok":
                    errors.append(f"{r.status} {r.body[:200]!r}")
            except Exception as e:  # noqa: BLE001 — collected and asserted below
                errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    ids = set()
    for _ in range(3):
        ids.add(lab.run({"experiment": "pipe.hello"}).json["run"]["id"])
    assert len(ids) == 3, "run ids repeat"


# ---------------------------------------------------------------- service


def test_healthz(lab):
    r = lab.get("/healthz")
    assert r.status == 200
    h = r.json
    assert h["status"] == "ok"
    assert h["spawner"]["state"] == "running" and h["spawner"]["pid"] > 1
    assert h["insecure"] is False and h["protections"]["missing"] == []
    assert h["version"]
    assert {"user", "pid", "ipc", "mount", "uts"} <= set(h["sandbox"]["namespaces"])
    assert h["sandbox"]["user_namespace"] is True


def test_static_index(lab):
    r = lab.get("/")
    assert r.status == 200
    assert r.content_type.split(";")[0].strip() == "text/html"
    assert r.body == (REPO / "public" / "index.html").read_bytes()
    again = lab.get("/index.html")
    assert again.status == 200 and again.body == r.body


def test_catalog_ids_match_the_server(lab):
    """The suites are parametrised over `ipclab experiments --json` (harness.preset_ids): it is the
    catalog the server lists, mechanism by mechanism."""
    served = lab.get("/api/v1/experiments").json["experiments"]
    for mechanism in {e["mechanism"] for e in served}:
        assert preset_ids(mechanism) == [e["id"] for e in served if e["mechanism"] == mechanism], mechanism
