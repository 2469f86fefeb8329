"""Per-run resource limits through the HTTP API: adversarial scenarios (a fork bomb, a memory hog, a CPU
spin, too many open files, a big file, an endless read, a flood of events, a huge payload) each end with
the right outcome and a reason naming the limit; meanwhile GET /healthz answers within 100 ms (measured
from a second thread); afterwards nothing of the run is left (no process under the spawner, the cgroup
slots empty, no SysV object or /dev/shm file of the run's uid on the host)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from contract import check_response
from harness import Lab, Server, children, describe, start_server

from harness import RUN_UIDS  # a run's root maps to a uid of its own, from this range, on the host
HEALTH_BUDGET_S = 0.100


def spawner_pid(server: Server) -> int:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    for pid in children:
        if b"spawner" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return int(pid)
    raise AssertionError(f"no spawner among the server's children {children}")


def cgroup_slot_dirs(spawner: int) -> list[Path]:
    """The spawner's cgroup slots in the v1 pids and memory hierarchies (none if the host has no cgroups)."""
    dirs: list[Path] = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        f = line.split()
        if f[2] != "cgroup" or not ({"pids", "memory"} & set(f[3].split(","))):
            continue
        dirs += list(Path(f[1]).rglob(f"ipclab-{spawner}/slot-*"))
    return dirs


def run_uid_ipc_objects() -> list[str]:
    """SysV objects and /dev/shm files on the host owned by the runs' uid: a run's would have leaked."""
    found: list[str] = []
    for kind in ("shm", "sem", "msg"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        header = lines[0].split()
        uid_col = header.index("uid")
        found += [f"{kind}: {line}" for line in lines[1:] if int(line.split()[uid_col]) in RUN_UIDS]
    found += [f"/dev/shm/{e.name}" for e in os.scandir("/dev/shm") if e.stat(follow_symlinks=False).st_uid in RUN_UIDS]
    return found


def run_adversarially(lab: Lab, server: Server, body: dict[str, Any]) -> dict[str, Any]:
    """POSTs the run from a second thread while this one times GET /healthz; checks nothing is left after.
    The second thread only waits on its socket: the response is checked against the contract after it
    ends, so that no Python work holding the GIL there delays a probe here."""
    result: dict[str, Any] = {}

    def post() -> None:
        try:
            result["reply"] = requests.post(server.base_url + "/api/v1/runs", json=body, timeout=20)
        except BaseException as error:  # reported on the test's thread below
            result["error"] = error

    # Its own connection (a requests.Session is not for two threads), opened and checked against the
    # contract once before the run; during the run only the HTTP round trip is timed.
    prober = requests.Session()
    assert Lab(server).get("/healthz").json["status"] == "ok"
    prober.get(server.base_url + "/healthz", timeout=5)
    thread = threading.Thread(target=post)
    thread.start()
    latencies: list[float] = []
    while thread.is_alive():
        t0 = time.monotonic()
        health = prober.get(server.base_url + "/healthz", timeout=5)
        latencies.append(time.monotonic() - t0)
        assert health.status_code == 200, health.text[:300]
        time.sleep(0.01)
    thread.join()
    if "error" in result:
        raise result["error"]
    r = result["reply"]
    trace = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers.get("content-type"), r.headers)
    assert r.status_code == 200, r.content[:500]
    assert latencies, "the run ended before /healthz could be asked once"
    assert max(latencies) < HEALTH_BUDGET_S, f"/healthz took {max(latencies) * 1000:.1f} ms during the run"
    assert_nothing_left(server)
    return trace


def running_inits(spawner: int) -> list[int]:
    """The spawner's children other than the inits it cloned ahead of time, which wait for a run
    (named `ipclab-ready`, with no process of their own), and the cgroup slots' forkers
    (`ipclab-slot`, or `ipclab runner` while it execs a fresh image; their children are the spawner's)."""
    def waiting(pid: int) -> bool:
        return (Path(f"/proc/{pid}/comm").read_text().strip() in ("ipclab-ready", "ipclab-slot")
                or (Path(f"/proc/{pid}/comm").read_text().strip() in ("exe", "ipclab", "ipclab-sandbox", "ipclab-runner")
                    and Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:2] == [b"runner"]))
    return [pid for pid in children(spawner) if not waiting(pid) or children(pid)]


def assert_nothing_left(server: Server) -> None:
    spawner = spawner_pid(server)
    deadline = time.monotonic() + 2
    while running_inits(spawner) and time.monotonic() < deadline:
        time.sleep(0.02)  # the spawner reaps the run's init the moment it exits; allow for scheduling
    assert running_inits(spawner) == [], "a run's init outlived its run"
    # The slots first, then the spawner's children: an init the spawner clones meanwhile (ahead of
    # time, into a slot) is then among its children.
    held = {slot: set((slot / "cgroup.procs").read_text().split()) for slot in cgroup_slot_dirs(spawner)}
    waiting = {str(pid) for pid in children(spawner)}
    for slot, procs in held.items():
        left = procs - waiting
        assert not left, f"{slot} still holds processes {left}: " + "; ".join(describe(pid) for pid in left)
    assert run_uid_ipc_objects() == []


def busy_run(steps: list[dict[str, Any]], limits: dict[str, int], name: str = "culprit") -> dict[str, Any]:
    """A run whose culprit pushes on a limit while a bystander keeps the run going a little while."""
    return {
        "scenario": {"processes": [
            {"name": "bystander", "steps": [{"op": "sleep", "ms": 300}]},
            {"name": name, "steps": steps},
        ]},
        "limits": {"wall_ms": 5000, **limits},
    }


def event(trace: dict[str, Any], call: str) -> dict[str, Any]:
    return next(e for e in trace["events"] if e["call"] == call)


def test_fork_bomb_is_stopped_by_the_pids_cgroup(lab, server):
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "fork_children", "count": 1000, "sleep_ms": 200}], {"processes": 10}, "bomb"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit processes:"), run["reason"]
    assert run["limits"]["processes"] == 10
    forks = event(trace, "fork_children")
    # 10 processes besides init: the bystander, the bomb, and 8 children.
    assert forks["result"] == 8 and forks["errno"] == "EAGAIN", forks
    assert forks["args"]["reaped"] == 8


def test_memory_hog_is_ended_by_the_memory_cgroup(lab, server):
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "allocate", "bytes": 200 << 20}], {"memory_bytes": 16 << 20}, "hog"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit memory:"), run["reason"]
    hog = next(p for p in trace["processes"] if p["name"] == "hog")
    assert hog["exit"]["signal"] == "SIGKILL"
    allocate = event(trace, "allocate")
    assert allocate["returned"] is False
    assert 0 < allocate["args"]["touched"] <= 16 << 20


def test_cpu_spin_is_ended_at_its_cpu_time(lab, server):
    trace = run_adversarially(lab, server, busy_run([{"op": "spin", "ms": 5000}], {"cpu_ms": 150}, "spinner"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit cpu:"), run["reason"]
    spinner = next(p for p in trace["processes"] if p["name"] == "spinner")
    assert spinner["exit"]["signal"] == "SIGXCPU"
    used_ms = (spinner["cpu_ns"]["user"] + spinner["cpu_ns"]["system"]) / 1e6
    assert 150 <= used_ms < 400, used_ms


def test_open_files_stop_at_emfile(lab, server):
    trace = run_adversarially(lab, server, busy_run([{"op": "open_files", "count": 1000}], {"open_files": 32}, "opener"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit open_files:"), run["reason"]
    opens = event(trace, "open_files")
    assert opens["errno"] == "EMFILE"
    assert 0 < opens["result"] < 32


def test_big_file_is_cut_at_file_bytes(lab, server):
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "write_file", "name": "big", "bytes": 4 << 20}], {"file_bytes": 1 << 20}, "writer"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit file_bytes:"), run["reason"]
    writer = next(p for p in trace["processes"] if p["name"] == "writer")
    assert writer["exit"]["signal"] == "SIGXFSZ"
    assert event(trace, "write_file")["args"]["written"] == 1 << 20


def test_tmp_is_sized_from_file_bytes_files_together_fill_it_at_the_limit(lab, server):
    """The run's /tmp is a tmpfs of file_bytes: two files each under the limit fill it together, and the
    ENOSPC is reported as the file_bytes limit (issue 13: it was a fixed 16 MiB, ending `ok`)."""
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "write_file", "name": "a", "bytes": 768 << 10}, {"op": "write_file", "name": "b", "bytes": 768 << 10}],
        {"file_bytes": 1 << 20}, "writer"))
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit file_bytes:") and "ENOSPC" in run["reason"], run["reason"]
    writes = [e for e in trace["events"] if e["call"] == "write_file"]
    assert writes[0]["errno"] is None and writes[1]["errno"] == "ENOSPC", writes
    assert writes[0]["args"]["written"] + writes[1]["args"]["written"] <= 1 << 20
    assert any(op["op"] == f"size /tmp {1 << 20}" and op["result"] == 0 for op in run["sandbox"]["setup"])


def test_tmp_at_the_default_file_bytes_is_the_size_it_was_mounted_with(lab, server):
    """At the default file_bytes (16 MiB) the run's /tmp keeps the size its init mounted it with ahead
    of the run (no remount after go): files together still fill it at exactly that limit."""
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "write_file", "name": "a", "bytes": 9 << 20}, {"op": "write_file", "name": "b", "bytes": 9 << 20}],
        {}, "writer"))
    run = trace["run"]
    assert run["limits"]["file_bytes"] == 16 << 20, run["limits"]
    assert run["outcome"] == "limit_exceeded" and "ENOSPC" in run["reason"], run["reason"]
    writes = [e for e in trace["events"] if e["call"] == "write_file"]
    assert writes[0]["errno"] is None and writes[1]["errno"] == "ENOSPC", writes
    assert (15 << 20) < writes[0]["args"]["written"] + writes[1]["args"]["written"] <= 16 << 20
    assert any(op["op"] == f"size /tmp {16 << 20}" and op["result"] == 0 for op in run["sandbox"]["setup"])


def test_a_file_over_16_mib_fits_when_file_bytes_allows_it(lab, server):
    trace = run_adversarially(lab, server, busy_run(
        [{"op": "write_file", "name": "big", "bytes": 20 << 20}], {"file_bytes": 24 << 20}, "writer"))
    run = trace["run"]
    assert run["outcome"] == "ok", run["reason"]
    assert event(trace, "write_file")["result"] == 20 << 20


def test_endless_read_times_out(lab, server):
    body = {
        "scenario": {
            "channels": [{"name": "p", "kind": "pipe"}],
            # The sleeper keeps the run from being a deadlock (a sleep ends by itself): the wall limit ends it.
            "processes": [{"name": "reader", "steps": [{"op": "read", "channel": "p", "size": 16}]},
                          {"name": "sleeper", "steps": [{"op": "sleep", "ms": 10000}]}],
        },
        "limits": {"wall_ms": 400},
    }
    trace = run_adversarially(lab, server, body)
    run = trace["run"]
    assert run["outcome"] == "timeout", run["reason"]
    assert "reader in read" in run["reason"]


def test_event_flood_is_cut_at_events(lab, server):
    body = {
        "scenario": {
            "channels": [{"name": "p", "kind": "pipe"}],
            "processes": [
                {"name": "flood", "steps": [{"op": "write", "channel": "p", "data": "x", "repeat": 4000}]},
                {"name": "bystander", "steps": [{"op": "sleep", "ms": 300}]},
            ],
        },
        "limits": {"events": 100},
    }
    trace = run_adversarially(lab, server, body)
    run = trace["run"]
    assert run["outcome"] == "limit_exceeded", run["reason"]
    assert run["reason"].startswith("limit events:"), run["reason"]
    assert run["events_dropped"] > 0
    assert len(trace["events"]) <= 100
    assert run["limits"]["events"] == 100


def test_cgroup_slots_are_reused(lab, server):
    """Runs one after another reuse a few slots: the pool does not grow with the number of runs."""
    def names() -> set[str]:
        return {slot.name for slot in cgroup_slot_dirs(spawner_pid(server))}

    for _ in range(20):
        assert lab.run({"experiment": "pipe.hello"}).json["run"]["outcome"] == "ok"
    after_20 = names()
    if not after_20:
        pytest.fail("no cgroup slots: this host's v1 pids/memory hierarchies are not writable")
    # two made ahead, two for inits waiting, one running, one still draining (earlier tests' runs)
    assert len(after_20) <= 6, sorted(after_20)
    for _ in range(40):
        assert lab.run({"experiment": "pipe.hello"}).json["run"]["outcome"] == "ok"
    assert len(names()) <= len(after_20), (sorted(after_20), sorted(names()))
    assert_nothing_left(server)


def test_huge_payload_is_refused_before_running(lab):
    body = {
        "scenario": {
            "channels": [{"name": "p", "kind": "pipe"}],
            "processes": [{"name": "w", "steps": [
                {"op": "write", "channel": "p", "size": 1048576, "repeat": 4096}]}],
        },
    }
    error = lab.run(body).error(400, "invalid_limit")
    assert error["path"] == "limits.payload_bytes"
    assert "scenario.processes[0].steps[0]" in error["message"]


@pytest.mark.parametrize("field,value", [
    ("cpu_ms", 60_001), ("memory_bytes", (1 << 30) + 1), ("processes", 1025), ("open_files", 4097),
    ("file_bytes", (64 << 20) + 1), ("events", 262_145), ("payload_bytes", (1 << 32) + 1), ("processes", 0),
])
def test_limit_out_of_range_is_invalid_limit(lab, field, value):
    error = lab.run({"experiment": "pipe.hello", "limits": {field: value}}).error(400, "invalid_limit")
    assert error["path"] == f"limits.{field}"


def test_every_limit_is_echoed_with_its_default(lab):
    trace = lab.run({"experiment": "pipe.hello", "limits": {"cpu_ms": 500}}).json
    assert trace["run"]["limits"] == {
        "wall_ms": 2000, "cpu_ms": 500, "memory_bytes": 64 << 20, "processes": 32, "open_files": 256,
        "file_bytes": 16 << 20, "events": 16384, "payload_bytes": 256 << 20,
    }
    ops = [op["op"] for op in trace["run"]["sandbox"]["setup"]]
    assert "RLIMIT_NOFILE 256" in ops and "cpu timer 500 ms" in ops


def test_server_maxima_come_from_flags():
    srv = start_server("--max-processes", "8", "--max-memory-bytes", str(32 << 20))
    try:
        lab = Lab(srv)
        error = lab.run({"experiment": "pipe.hello", "limits": {"processes": 9}}).error(400, "invalid_limit")
        assert error["path"] == "limits.processes" and "1…8" in error["message"]
        # The defaults above a maximum are capped at it.
        limits = lab.run({"experiment": "pipe.hello"}).json["run"]["limits"]
        assert limits["processes"] == 8 and limits["memory_bytes"] == 32 << 20
    finally:
        assert srv.stop() == 0
