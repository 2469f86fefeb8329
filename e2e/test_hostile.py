"""Issue 12, "everything a run can write is hostile input": runs that write hostile values into the shared
memory they can reach while measurement loops and barriers use it. Each run must come back as an answer
(a trace, whatever its outcome), the server must stay up, a hostile value must make the step that read it
fail honestly (EPROTO in its event) instead of writing out of bounds, and no cgroup slot of a dead spawner
may be left behind.

Each test here starts its own server: the attacks crashed the server they ran on (issue 12, finding 1), and
a crash must fail this module's tests, not every test that shares the session's server afterwards.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness import Lab, Server, children, describe, start_server
from traces import check_trace

# Hostile 64-bit values a store_int can write (±2^53−1 is the language's bound); words near INT64_MIN
# are made with a byte store (see `most_negative_at`).
HOSTILE = [0, -1, 1, 2**50, -(2**50), 2**53 - 1, -(2**53 - 1), 2**31, 2**32 - 1, 4096, 782336, -4096]


@pytest.fixture()
def fresh() -> Iterator[tuple[Server, Lab]]:
    srv = start_server()
    try:
        yield srv, Lab(srv)
    finally:
        srv.stop()


def spawner_pid(server: Server) -> int | None:
    try:
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    except OSError:
        return None
    for pid in children:
        try:
            if b"spawner" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
        except OSError:
            continue
    return None


def cgroup_dirs(spawner: int) -> list[Path]:
    """The spawner's cgroup directories (`ipclab-<pid>`) in the v1 pids and memory hierarchies."""
    dirs: list[Path] = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        f = line.split()
        if f[2] == "cgroup" and {"pids", "memory"} & set(f[3].split(",")):
            dirs += _glob_while_others_change(Path(f[1]), f"ipclab-{spawner}")
    return dirs


def _glob_while_others_change(root: Path, name: str) -> list[Path]:
    """`root.rglob(name)`, tried again when another spawner (an earlier test's server, ending) removes a
    cgroup directory under the walk: the walk then fails with FileNotFoundError, which says nothing of ours."""
    for _ in range(20):
        try:
            return list(root.rglob(name))
        except FileNotFoundError:
            time.sleep(0.01)
    return list(root.rglob(name))


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def leftovers(spawner: int) -> dict[str, set[str]]:
    """Processes in the live spawner's cgroup slots that are not its own children (the slots' forkers and
    the inits it cloned ahead of time, waiting for a run): a finished run's, had it outlived its run."""
    # The slots first, then the spawner's children: an init it clones meanwhile is then among them. An
    # init reaped meanwhile (a ready one dropped after a pause) is gone, not left over: only live ones count.
    held = {str(slot): set((slot / "cgroup.procs").read_text().split())
            for d in cgroup_dirs(spawner) for slot in d.glob("slot-*")}
    mine = {str(pid) for pid in children(spawner)}
    left = {slot: {p for p in procs - mine if alive(int(p))} for slot, procs in held.items()}
    return {slot: procs for slot, procs in left.items() if procs}


def assert_server_survived(server: Server, lab: Lab, spawner: int | None) -> None:
    assert server.process.poll() is None, \
        f"the server died (status {server.process.returncode})\n{server.stderr_tail()}"
    assert lab.get("/healthz").json["status"] == "ok"
    if spawner is not None:
        # A spawner that died takes its cgroup slots down with it (or the server does when it replaces
        # it); slots of a dead spawner left in the hierarchy are orphans.
        deadline = time.monotonic() + 2
        while not alive(spawner) and cgroup_dirs(spawner) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(spawner) or not cgroup_dirs(spawner), f"cgroup slots of dead spawner {spawner} left: {cgroup_dirs(spawner)}"
        if alive(spawner):
            deadline = time.monotonic() + 3  # the last run's processes are being reaped: allow for scheduling
            while leftovers(spawner) and time.monotonic() < deadline:
                time.sleep(0.05)
            left = leftovers(spawner)
            assert not left, "a run outlived its run in the spawner's cgroup slots: " + "; ".join(
                f"{slot}: " + ", ".join(describe(pid) for pid in procs) for slot, procs in left.items())


def post(lab: Lab, body: dict[str, Any]) -> dict[str, Any]:
    reply = lab.run(body, timeout=30)
    assert reply.status == 200, reply.body[:500]
    trace = reply.json
    check_trace(trace)
    return trace


def died_of_signal(trace: dict[str, Any]) -> list[str]:
    return [f"{p['name']}: {p['exit']}" for p in trace["processes"]
            if isinstance(p.get("exit"), dict) and p["exit"].get("signal") in ("SIGSEGV", "SIGBUS")]


def store_int(channel: str, offset: int, value: int) -> dict[str, Any]:
    return {"op": "store_int", "channel": channel, "offset": offset, "value": value}


def most_negative_at(channel: str, offset: int) -> list[dict[str, Any]]:
    """A word near INT64_MIN at `offset` (0x80C2000000000000), beyond what store_int may write: 0 there,
    then the UTF-8 bytes of U+0080 (C2 80) over its two high bytes."""
    return [store_int(channel, offset, 0), {"op": "store", "channel": channel, "offset": offset + 6, "data": "\u0080"}]


# ------------------------------------------------------------------ the issue's attack


def ring_attack(total: int, stores: int = 200) -> dict[str, Any]:
    """Issue 12's reproduction: a sender and a receiver measure shm_ring through one 786432-byte sync
    region while three processes store 2^50 over the ring's `tail` (offset 128) again and again."""
    bench = {"mechanism": "shm_ring", "sync": "sync", "total_bytes": total, "chunk_bytes": 1_048_576}
    stomper = lambda ms: {"name": f"stomp{ms}", "steps": [{"op": "sleep", "ms": ms}]
                          + [store_int("sync", 128, 2**50)] * stores}
    return {
        "scenario": {
            "channels": [{"name": "sync", "kind": "shared_memory", "type": "anonymous", "size": 786432}],
            "processes": [
                {"name": "receiver", "steps": [{"op": "bench_receive", **bench}] * 4},
                {"name": "sender", "steps": [{"op": "bench_send", **bench}] * 4},
                stomper(5), stomper(50), stomper(200),
            ],
        },
        "limits": {"wall_ms": 4000},
    }


def test_the_ring_attack_of_issue_12_is_refused_by_the_measurement_loop(fresh):
    server, lab = fresh
    spawner = spawner_pid(server)
    refused = 0
    for _ in range(3):
        trace = post(lab, ring_attack(1 << 30))
        assert not died_of_signal(trace), died_of_signal(trace)
        failed = [e for e in trace["events"] if e["process"] in ("sender", "receiver") and e.get("errno") == "EPROTO"]
        refused += bool(failed)
        for e in failed:
            assert e["args"].get("mechanism") == "shm_ring", e
        assert_server_survived(server, lab, spawner)
    # The stores land while 4 GiB are on their way: at least one run must have seen the ring's position
    # jump, and said so, instead of copying past the region.
    assert refused >= 1


# ------------------------------------------------------------------ every offset, every value


def sweep(seed: int) -> dict[str, Any]:
    """Six processes store hostile values over every 8-byte word of both regions (the bench sync region
    with its control block and ring, and a barrier's region) while two others meet at barriers and
    measure through the ring."""
    rng = random.Random(seed)
    targets = [("sync", o) for o in range(0, 8192, 8)] + [("bar", o) for o in range(0, 4096, 8)]
    rng.shuffle(targets)
    stomps = []
    for channel, offset in targets:
        if rng.random() < 0.05:
            stomps += most_negative_at(channel, offset)
        else:
            stomps.append(store_int(channel, offset, rng.choice(HOSTILE)))
    per = -(-len(stomps) // 6)
    attackers = [{"name": f"a{i}", "steps": stomps[i * per:(i + 1) * per][:256]} for i in range(6)]
    bench = {"mechanism": "shm_ring", "sync": "sync", "total_bytes": 64 << 20, "chunk_bytes": 65536}
    barrier = {"op": "barrier", "channel": "bar", "offset": 0, "count": 2}
    return {
        "scenario": {
            "channels": [{"name": "sync", "kind": "shared_memory", "type": "anonymous", "size": 8192},
                         {"name": "bar", "kind": "shared_memory", "type": "anonymous", "size": 4096}],
            "processes": [
                {"name": "receiver", "steps": [barrier, {"op": "bench_receive", **bench}] * 3 + [barrier]},
                {"name": "sender", "steps": [barrier, {"op": "bench_send", **bench}] * 3 + [barrier]},
                *attackers,
            ],
        },
        "limits": {"wall_ms": 1500},
    }


def test_hostile_values_over_every_offset_of_every_region(fresh):
    server, lab = fresh
    spawner = spawner_pid(server)
    for seed in range(4):
        trace = post(lab, sweep(seed))
        assert not died_of_signal(trace), (seed, died_of_signal(trace))
        for e in trace["events"]:
            if e["call"] == "barrier" and e["returned"] and e["result"] == -1:
                assert e["errno"] == "EPROTO", e
    assert_server_survived(server, lab, spawner)


# ------------------------------------------------------------------ the barrier


def barrier_attack(arrived: int) -> dict[str, Any]:
    """A process sets the barrier's arrival count, then arrives: its place among the arrivals (the count
    plus one) picks the time-stamp slot it writes, 8 × that many bytes into (or before) the region."""
    return {
        "scenario": {
            "channels": [{"name": "bar", "kind": "shared_memory", "type": "anonymous", "size": 4096}],
            "processes": [
                {"name": "p", "steps": [store_int("bar", 64, arrived),
                                        {"op": "barrier", "channel": "bar", "offset": 64, "count": 2}]},
            ],
        },
        "limits": {"wall_ms": 1000},
    }


@pytest.mark.parametrize("arrived", [2**40, 1 << 20, 512, 4096, -3, -(2**50), 2**53 - 1])
def test_a_barrier_whose_count_was_overwritten_fails_with_eproto(fresh, arrived):
    server, lab = fresh
    spawner = spawner_pid(server)
    trace = post(lab, barrier_attack(arrived))
    assert not died_of_signal(trace), died_of_signal(trace)
    barrier = [e for e in trace["events"] if e["call"] == "barrier"]
    assert len(barrier) == 1 and barrier[0]["returned"], trace["events"]
    assert barrier[0]["result"] == -1 and barrier[0]["errno"] == "EPROTO", barrier[0]
    assert trace["processes"][0]["exit"] == {"code": 0}, trace["processes"]
    assert_server_survived(server, lab, spawner)


def test_runs_that_aim_the_barrier_at_the_ring_leave_the_server_up(fresh):
    """Before the fix, a barrier's time stamp could be aimed anywhere around its region: at the event ring
    the server reads (one 8-byte store per run at a chosen distance). 1,000 runs aim at random distances
    (most just past the region, where the ring and the process's other mappings lie): every one must be
    answered, refused with EPROTO, and the server must stay up."""
    server, lab = fresh
    spawner = spawner_pid(server)
    rng = random.Random(12)
    for _ in range(1000):
        arrived = rng.choice([rng.randrange(510, 1 << 16), rng.randrange(1 << 16, 1 << 24), -rng.randrange(3, 1 << 16)])
        trace = post(lab, barrier_attack(arrived))
        assert not died_of_signal(trace), (arrived, died_of_signal(trace))
        barrier = [e for e in trace["events"] if e["call"] == "barrier"]
        assert barrier and barrier[0]["errno"] == "EPROTO", (arrived, barrier)
        assert barrier[0]["args"]["arrival"] == arrived + 1, barrier[0]
    assert_server_survived(server, lab, spawner)
