"""Golden traces: what every preset's run did, normalised so that two runs of the same build compare
equal, and a change to how runs are started (issue #12: the exec'd runner, per-run uids) can be shown
not to have changed any call, argument, result or observation.

`python e2e/golden.py` (with IPCLAB_BIN set) writes e2e/golden/traces.json from the build under test;
e2e/test_golden.py runs the same requests and compares.

What is kept, per run: the outcome; the sandbox's set-up operations (op, result, errno); each
process's name, parent and exit; each process's own events in order (call, step, args, result, errno,
returned, the payload's bytes); each observation's id and whether it holds.

What is normalised away, because it differs between two runs of one build (the NONDETERMINISTIC list,
with why):
- every time (t_ns, end_ns, blocked_ns, duration_ns, cpu_ns, started_at) and the run id: the clock;
- pids (a process's pid, an event's pid, fork's result, pid arguments) become the process's name:
  the kernel hands them out in the order processes are cloned, which scheduling decides;
- addresses (mmap/shmat results, `addr`/`address` arguments, pointers in payloads of shm.pointers and
  signal.pointer): ASLR, and this issue's whole point is that they differ;
- the interleaving of processes (events are compared per process, not by global seq), and the
  `seq` numbers that evidence lists and objects use;
- observation details and evidence (they quote seq numbers, times and byte counts of racing calls);
- ppoll events (a wait for a signal that may already have come happens or not, as scheduling has it);
- inode and device numbers (st_ino, st_dev of pipe.inode's fstat) and the /proc lines that
  signal.unblockable reads (they hold fault counts and start times);
- ports the kernel picks (local_port, peer and source addresses), arguments ending in `_ns`, ftok's key,
  and a semaphore's `value_before` (whether the other process posted first; seen in shm.pointers);
- for presets listed in RACY: only which calls each process made (a sorted set), and the
  observations' ids, since how many bytes a read got, how many times a loop went round, or which
  process won a race is the scheduler's choice.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "traces.json"

# The requests: every preset with its defaults, the measurement presets with small sizes.
SMALL = {
    "bench.throughput": {"total_bytes": 65536, "chunk_bytes": 4096},
    "bench.latency": {"round_trips": 50},
}

# Argument names whose values are addresses or pids.
ADDRESS_KEYS = {"addr", "address", "pointer", "ptr", "shmaddr", "value_pointer"}
PID_KEYS = {"pid", "target", "sender_pid", "si_pid", "child_pid"}
# Calls whose result is an address or a pid.
# (ftok's key is made of the key file's inode and device numbers, new in every run's tmpfs.)
ADDRESS_RESULTS = {"mmap", "shmat", "mremap", "ftok"}
# Ephemeral ports: the kernel picks them at random.
PORT_KEYS = {"local_port", "peer", "src_addr", "peer_addr"}
# Inode and device numbers: handed out anew in every run's filesystems (pipe.inode's fstat).
INODE_KEYS = {"st_ino", "st_dev"}
# Processes killed at a point the scheduler picks: how far they got is not compared.
KILLED_MIDWAY = {"signal.unblockable": {"target"}}
# Presets whose payloads are a /proc line (page-fault counts, start times): only the call is compared.
PROC_PAYLOADS = {"signal.unblockable"}
PID_RESULTS = {"fork", "getpid", "getppid", "waitpid", "wait4", "wait", "clone"}

# Presets whose results or observations depend on a race (documented in their catalog entries): only
# the sequence of calls per process, and the observations that do not depend on the race, are compared.
RACY = {
    # Found to differ between three runs of one build (main at 8843651):
    "pipe.pipeline", "shm.anonymous", "shm.race", "sem.mutex", "sem.fruit_plate", "sem.producer_consumer",
    "signal.handshake", "signal.dispositions", "signal.sigchld", "signal.stop_cont",
    "bench.throughput", "bench.latency",
    # Documented as scheduling-dependent in their catalog entries or e2e tests:
    "signal.coalescing", "pipe.capacity",
    # Added with #15's presets: whether SIGCHLD is delivered before the parent's wait returns is the
    # scheduler's choice (seen in 1 of 4 runs of one build).
    "signal.unblockable",
}


def requests_for(catalog_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(i, {"experiment": i, **({"params": SMALL[i]} if i in SMALL else {})}) for i in catalog_ids]


def _norm_value(key: str, value: Any, names: dict[int, str]) -> Any:
    if key in ADDRESS_KEYS and isinstance(value, int):
        return "<addr>"
    if key.endswith("_ns") and isinstance(value, int):
        return "<ns>"
    if key == "value_before":
        return "<semaphore value>"  # whether the other process posted first is the scheduler's choice
    if key in INODE_KEYS and isinstance(value, int):
        return "<inode>"
    if key in PORT_KEYS and isinstance(value, (int, str)):
        return "<ephemeral port>" if isinstance(value, int) else value.rsplit(":", 1)[0] + ":<port>"
    if key in PID_KEYS and isinstance(value, int):
        return names.get(value, "<pid>")
    if isinstance(value, dict):
        out = {k: _norm_value(k, v, names) for k, v in sorted(value.items())}
        if out.get("sival_ptr") == "<addr>" and "sival_int" in out:
            out["sival_int"] = "<addr>"  # the low half of the same pointer
        return out
    if isinstance(value, list):
        return [_norm_value(key, v, names) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) > 8:
        return "<addr>"
    return value


def normalise(exp_id: str, trace: dict[str, Any]) -> dict[str, Any]:
    names = {p["pid"]: p["name"] for p in trace["processes"] if isinstance(p.get("pid"), int)}
    racy = exp_id in RACY
    per_process: dict[str, list[Any]] = {p["name"]: [] for p in trace["processes"]}
    for e in trace["events"]:
        # A wait for a signal that may already have come is made or not, as scheduling has it.
        if e["call"] == "ppoll" or e["process"] in KILLED_MIDWAY.get(exp_id, set()):
            continue
        if racy:
            calls = per_process.setdefault(e["process"], [])
            if e["call"] not in calls:
                calls.append(e["call"])
                calls.sort()
            continue
        result = e["result"]
        if e["call"] in ADDRESS_RESULTS and isinstance(result, int) and result > 0:
            result = "<addr>"
        if e["call"] in PID_RESULTS and isinstance(result, int) and result > 0:
            result = names.get(result, "<pid>")
        payload = e["payload"]
        if payload is not None and exp_id in PROC_PAYLOADS:
            payload = "<a /proc line>"
        elif payload is not None:
            payload = {"bytes": payload["bytes"], "truncated": payload["truncated"],
                       "hex": "<pointer bytes>" if exp_id in {"shm.pointers", "signal.pointer"} else payload["hex"]}
        per_process.setdefault(e["process"], []).append({
            "call": e["call"], "step": e["step"], "args": _norm_value("", e["args"], names),
            "result": result, "errno": e["errno"], "returned": e["returned"], "payload": payload,
        })
    run = trace["run"]
    return {
        "outcome": run["outcome"],
        "setup": [[s["op"], s["result"], s["errno"]] for s in run["sandbox"]["setup"]],
        "namespaces": sorted(run["sandbox"]["namespaces"]),
        "processes": [[p["name"], p["parent"], p["exit"]] for p in trace["processes"]],
        "events": per_process,
        "observations": [[o["id"], None if racy else o["holds"]] for o in trace["observations"]],
    }


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two normalised traces differ (path: got vs want), for a readable failure."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want), key=str)
                for d in differences(got.get(k), want.get(k), f"{path}.{k}")]
    if isinstance(got, list) and isinstance(want, list):
        out = [d for i, (a, b) in enumerate(zip(got, want)) for d in differences(a, b, f"{path}[{i}]")]
        if len(got) != len(want):
            out.append(f"{path}: {len(got)} items vs {len(want)}")
        return out
    return [] if got == want else [f"{path}: {got!r} vs {want!r}"]


def collect(lab: Any, catalog_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for exp_id, body in requests_for(catalog_ids):
        r = lab.run(body)
        assert r.status == 200, (exp_id, r.status, r.body[:500])
        out[exp_id] = normalise(exp_id, r.json)
    return out


def main() -> None:
    sys.path.insert(0, str(HERE))
    from harness import Lab, start_server  # noqa: E402

    srv = start_server()
    try:
        lab = Lab(srv)
        ids = [e["id"] for e in lab.get("/api/v1/experiments").json["experiments"]]
        golden = collect(lab, ids)
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN} ({len(golden)} presets)")
    finally:
        srv.stop()


if __name__ == "__main__":
    os.chdir(HERE.parent)
    main()
