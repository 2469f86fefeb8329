"""What every trace must satisfy beyond its JSON schema (the rules of Trace v1 in the contract)."""

from __future__ import annotations

from typing import Any

TOP_LEVEL_KEYS = {"trace_version", "run", "scenario", "processes", "events", "transfers", "objects", "observations"}
TRANSFER_KINDS = {"data", "signal", "wake", "descriptor"}
# Which calls each kind of transfer may join (sender, receiver).
TRANSFER_CALLS = {
    "data": {(s, r) for s, r in [("write", "read"), ("send", "recv"), ("send", "read"), ("write", "recv"), ("sendto", "recvfrom"),
                                 ("send", "recvfrom"), ("sendto", "recv"), ("write", "recvfrom"), ("sendmsg", "recvmsg"),
                                 ("msgsnd", "msgrcv"), ("mq_send", "mq_receive"), ("store", "load")]},
    "signal": {("kill", "deliver"), ("sigqueue", "deliver")},
    "wake": {("sem_post", "sem_wait")},
    "descriptor": {("sendmsg", "recvmsg")},
}
SANDBOX_NAMESPACES = {"user", "pid", "ipc", "mount", "uts"}
# Calls that can block: the contract says they carry end_ns and blocked_ns.
BLOCKING_CALLS = {"read", "write", "open", "openat", "wait4", "waitpid", "nanosleep", "ppoll"}


def calls(trace: dict[str, Any], call: str, process: str | None = None) -> list[dict[str, Any]]:
    """The events of `call` (optionally by `process`), in seq order."""
    return [e for e in trace["events"] if e["call"] == call and (process is None or e["process"] == process)]


def results(trace: dict[str, Any], call: str, process: str | None = None) -> list[Any]:
    return [e["result"] for e in calls(trace, call, process)]


def process(trace: dict[str, Any], name: str) -> dict[str, Any]:
    for p in trace["processes"]:
        if p["name"] == name:
            return p
    raise AssertionError(f"no process {name!r} in {[p['name'] for p in trace['processes']]}")


def check_trace(trace: dict[str, Any], *, wall_ms: int | None = None) -> None:
    """Assert the invariants of a trace (its schema is checked by the client already)."""
    # A run with checks also carries their results and its score.
    assert set(trace) in (TOP_LEVEL_KEYS, TOP_LEVEL_KEYS | {"checks", "score", "max_score"}), sorted(trace)
    assert trace["trace_version"] == 1
    run = trace["run"]
    assert run["duration_ns"] > 0
    if wall_ms is not None:
        assert run["limits"]["wall_ms"] == wall_ms, run["limits"]
    if run["outcome"] == "ok":
        assert run["reason"] is None, run
    else:
        assert run["reason"], f"outcome {run['outcome']} without a reason"
    assert SANDBOX_NAMESPACES <= set(run["sandbox"]["namespaces"]), run["sandbox"]

    # Processes: the scenario's, in order; the first is the parent of all the others.
    names = [p["name"] for p in trace["scenario"]["processes"]]
    assert [p["name"] for p in trace["processes"]] == names
    first = names[0]
    for i, p in enumerate(trace["processes"]):
        assert p["parent"] == (None if i == 0 else first), p
    pids = [p["pid"] for p in trace["processes"]]
    assert len(set(pids)) == len(pids), pids
    pid_of = {p["name"]: p["pid"] for p in trace["processes"]}

    # Events: seq 1, 2, 3, …, ordered by start time; blocked = end − start; unreturned calls carry nothing.
    events = trace["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    starts = [e["t_ns"] for e in events]
    assert starts == sorted(starts), "events are not ordered by t_ns"
    for e in events:
        where = f"event {e['seq']} ({e['process']} {e['call']})"
        assert e["process"] in pid_of, where
        assert e["pid"] == pid_of[e["process"]], where
        if e["returned"]:
            if e["end_ns"] is not None:
                assert e["end_ns"] >= e["t_ns"], where
            if e["blocked_ns"] is not None:
                assert e["end_ns"] is not None and e["blocked_ns"] == e["end_ns"] - e["t_ns"], where
            if e["call"] in BLOCKING_CALLS:
                assert e["end_ns"] is not None and e["blocked_ns"] is not None, f"{where} can block: no end/blocked"
            if e["errno"] is not None:
                assert e["result"] is not None and e["result"] < 0, where
            elif e["result"] is not None:
                assert e["result"] >= 0, where
        else:
            assert e["end_ns"] is None and e["result"] is None and e["errno"] is None, where
        if e["payload"] is not None:
            shown = len(e["payload"]["hex"]) // 2
            assert shown <= e["payload"]["bytes"], where
            assert e["payload"]["truncated"] == (shown < e["payload"]["bytes"]), where

    # Transfers: from a sending call to a receiving one, each a real event that returned; bytes
    # for data only, and no receive gets more bytes than the kernel gave it.
    by_seq = {e["seq"]: e for e in events}
    got: dict[int, int] = {}
    for t in trace["transfers"]:
        where = f"transfer {t}"
        assert t["kind"] in TRANSFER_KINDS, where
        assert t["from"] in by_seq and t["to"] in by_seq and t["from"] != t["to"], where
        sender, receiver = by_seq[t["from"]], by_seq[t["to"]]
        assert (sender["call"], receiver["call"]) in TRANSFER_CALLS[t["kind"]], where
        assert sender["returned"] and receiver["returned"], where
        if t["kind"] == "data":
            assert t["bytes"] > 0, where
            got[t["to"]] = got.get(t["to"], 0) + t["bytes"]
            assert got[t["to"]] <= max(receiver["result"], (receiver["payload"] or {}).get("bytes", 0)), where
        else:
            assert t["bytes"] is None, where

    # Objects are channels of the scenario; observations point at real events.
    # A process snapshot (`proc_stat`) names a process of the run instead.
    channels = {c["name"] for c in trace["scenario"].get("channels", [])}
    for o in trace["objects"]:
        assert o["object"] in (pid_of if o["kind"] == "process" else channels), o
    ids = set(range(1, len(events) + 1))
    for obs in trace["observations"]:
        assert set(obs["evidence"]) <= ids, obs


def payload_bytes(events: list[dict[str, Any]]) -> bytes:
    return b"".join(bytes.fromhex(e["payload"]["hex"]) for e in events if e["payload"])


def run_ok(lab, body: dict[str, Any], *, require_evidence: bool = False, default_wall_ms: int = 2000,
           **kwargs: Any) -> dict[str, Any]:
    """POST a run, assert it answered 200 with a trace that keeps every rule above; the trace.
    With `require_evidence`, every observation must cite events, whether or not it held.
    `default_wall_ms` is the wall limit the experiment gets when the body gives none."""
    r = lab.run(body, **kwargs)
    assert r.status == 200, r.body[:800]
    trace = r.json
    check_trace(trace, wall_ms=(body.get("limits") or {}).get("wall_ms", default_wall_ms))
    if require_evidence:
        for o in trace["observations"]:
            assert o["evidence"], o
    return trace


def observation(trace: dict[str, Any], oid: str) -> dict[str, Any]:
    """The observation with id `oid` (it must be there)."""
    found = [o for o in trace["observations"] if o["id"] == oid]
    assert found, [o["id"] for o in trace["observations"]]
    return found[0]


def holds(trace: dict[str, Any]) -> dict[str, bool]:
    """Whether each observation held, by the last part of its id (`no_boundaries`)."""
    return {o["id"].rsplit(".", 1)[1]: o["holds"] for o in trace["observations"]}


def check_claim_holds(trace: dict[str, Any], observations: list[str]) -> None:
    """A preset run with its defaults: outcome ok, exactly the catalog's observations in its
    order, and every one held with evidence."""
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert [o["id"] for o in trace["observations"]] == observations
    for o in trace["observations"]:
        assert o["holds"] is True, o
        assert o["evidence"], o


def check_catalog_entry(lab, catalog: dict[str, Any], exp_id: str, mechanism: str) -> dict[str, Any]:
    """A preset's catalog entry names its mechanism and only observations of its own, and its scenario
    keeps the contract's Scenario schema; the scenario."""
    from contract import validate_schema

    entry = catalog[exp_id]
    assert entry["mechanism"] == mechanism, entry
    assert all(o.startswith(exp_id + ".") for o in entry["observations"]), entry["observations"]
    scenario = lab.get(f"/api/v1/experiments/{exp_id}").json["scenario"]
    validate_schema(scenario, "Scenario", exp_id)
    return scenario


def check_preset_as_custom_scenario(lab, exp_id: str, run=run_ok) -> dict[str, Any]:
    """A preset's scenario sent as a custom one runs ok, as no experiment, with no observations (those
    belong to presets) and the scenario echoed as sent; the trace. `run` posts it (run_ok by default)."""
    scenario = lab.get(f"/api/v1/experiments/{exp_id}").json["scenario"]
    trace = run(lab, {"scenario": scenario})
    assert trace["run"]["experiment"] is None, trace["run"]
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert trace["observations"] == []
    assert trace["scenario"] == scenario
    return trace


def cli_run_ok(binary: str, args: list[str], cwd: str, *, expected_false: frozenset[str] = frozenset(),
               text_shows: str = "") -> dict[str, Any]:
    """`ipclab run ARGS` succeeds with a trace whose observations all hold (but those whose last id
    segment is in `expected_false`, which must not), and its `--format text` form names the
    experiment (and holds `text_shows`); the JSON trace."""
    import json
    import subprocess

    r = subprocess.run([binary, "run", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    trace = json.loads(r.stdout)
    check_trace(trace)
    assert trace["run"]["experiment"] == args[0]
    for o in trace["observations"]:
        assert o["holds"] is (o["id"].rsplit(".", 1)[1] not in expected_false), o
    text = subprocess.run([binary, "run", *args, "--format", "text"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and args[0] in text.stdout and text_shows in text.stdout, text.stderr or text.stdout[-2000:]
    return trace


def sleeping_scenario(sleep_ms: int) -> dict[str, Any]:
    """A writer that writes, sleeps `sleep_ms`, writes; a reader that reads both: a run whose first
    events come well before its last (for the streaming tests, API and page)."""
    return {
        "channels": [{"name": "p", "kind": "pipe"}],
        "processes": [
            {"name": "reader", "steps": [{"op": "close", "channel": "p", "end": "write"},
                                         {"op": "read", "channel": "p", "size": 5},
                                         {"op": "read", "channel": "p", "size": 5}]},
            {"name": "writer", "steps": [{"op": "close", "channel": "p", "end": "read"},
                                         {"op": "write", "channel": "p", "data": "hello"},
                                         {"op": "sleep", "ms": sleep_ms},
                                         {"op": "write", "channel": "p", "data": "world"}]},
        ],
    }
