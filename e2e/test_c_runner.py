"""The C runner (docs/c-runner.md, issue #12 item 4): a server started with the hidden `--run-image c`
runs every preset whose scenario has a flat plan (FlatPlan.swift: process steps, pipes and FIFOs, shared
memory and semaphores, message queues, sockets, signals and sandbox probes, measurements over every
mechanism: every preset now) on a second spawner whose runners are `ipclab-runner` (C), and every other
run (a run of students' programs) on its Swift spawner, as before. The presets must give the golden
traces (e2e/golden/traces.json, normalised as test_golden does); a program run its program's output.

C_PRESETS is the list FlatPlanTests.cPresets (Swift) checks against what FlatPlan.compile accepts, so
the two cannot drift apart."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from golden import GOLDEN, differences, normalise, requests_for
from harness import Lab, Server, children, server_binary, start_server

# Every preset whose default scenario FlatPlan.compile accepts (kept equal by FlatPlanTests.e2eListsTheSamePresets).
C_PRESETS = (
    "bench.latency",
    "bench.throughput",
    "fifo.rendezvous",
    "fifo.unrelated",
    "mq.boundaries",
    "mq.full",
    "mq.notify",
    "mq.posix",
    "mq.sysv",
    "mq.sysv_full",
    "pipe.byte_stream",
    "pipe.capacity",
    "pipe.duplex",
    "pipe.eof",
    "pipe.hello",
    "pipe.inode",
    "pipe.nonblocking",
    "pipe.pipeline",
    "pipe.sigpipe",
    "sem.fruit_plate",
    "sem.mutex",
    "sem.producer_consumer",
    "shm.anonymous",
    "shm.pointers",
    "shm.posix",
    "shm.private",
    "shm.race",
    "shm.sysv",
    "socket.buffer",
    "socket.fd_passing",
    "socket.nonblocking",
    "socket.socketpair",
    "socket.tcp",
    "socket.udp",
    "socket.unix_dgram",
    "socket.unix_stream",
    # csignals: signals and sandbox probes
    "sandbox.denied_calls",
    "signal.blocked",
    "signal.coalescing",
    "signal.dispositions",
    "signal.fault",
    "signal.handshake",
    "signal.permissions",
    "signal.pointer",
    "signal.process_group",
    "signal.sigchld",
    "signal.sigint",
    "signal.sigqueue",
    "signal.stop_cont",
    "signal.unblockable",
)

# What still goes to the Swift spawner: a run of students' programs (every preset has a flat plan).
PIPE_PROGRAM = (Path(__file__).parent / "programs" / "pipe.c").read_text()
PROGRAM_RUN = {"programs": [{"name": "parent", "language": "c", "source": PIPE_PROGRAM}]}

GOLDEN_TRACES = json.loads(GOLDEN.read_text())


@pytest.fixture(scope="module")
def c_server() -> Iterator[Server]:
    srv = start_server("--run-image", "c")
    yield srv
    status = srv.stop(signal.SIGTERM)
    assert status == 0, f"ipclab serve --run-image c exited with status {status} after SIGTERM\n{srv.stderr_tail()}"


@pytest.fixture(scope="module")
def c_lab(c_server: Server) -> Lab:
    return Lab(c_server)


def spawners(server: Server) -> list[tuple[int, list[str]]]:
    """The server's spawner processes: (pid, argv)."""
    out = []
    for pid in children(server.process.pid):
        try:
            argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue
        if argv[1:2] == ["spawner"]:
            out.append((pid, argv))
    return out


def test_the_lists_are_golden_presets():
    assert set(C_PRESETS) <= set(GOLDEN_TRACES)


def test_two_spawners_one_for_c_runners(c_server: Server, c_lab: Lab):
    """One spawner is told to start `ipclab-runner` beside `ipclab`, the other is not; they split the run uids."""
    found = spawners(c_server)
    assert len(found) == 2, found
    runner = os.path.realpath(server_binary().parent / "ipclab-runner")
    c = [argv for _, argv in found if "--runner-executable" in argv]
    swift = [argv for _, argv in found if "--runner-executable" not in argv]
    assert len(c) == 1 and len(swift) == 1, found
    assert os.path.realpath(c[0][c[0].index("--runner-executable") + 1]) == runner

    def uids(argv: list[str]) -> range:
        base, count = int(argv[argv.index("--run-uid-base") + 1]), int(argv[argv.index("--run-uid-count") + 1])
        return range(base, base + count)

    a, b = uids(c[0]), uids(swift[0])
    assert len(a) >= 3 and len(b) >= 3
    assert a.stop <= b.start or b.stop <= a.start, f"the two spawners share run uids: {a} and {b}"
    health = c_lab.get("/healthz")
    assert health.status == 200, health.body[:500]
    assert health.json["spawner"]["state"] == "running"
    assert health.json["spawner"]["pid"] in {pid for pid, _ in found}


@pytest.mark.parametrize("exp_id,body", requests_for(list(C_PRESETS)), ids=lambda v: v if isinstance(v, str) else "")
def test_c_runner_matches_golden(c_lab: Lab, exp_id: str, body: dict):
    r = c_lab.run(body)
    assert r.status == 200, r.body[:500]
    diff = differences(normalise(exp_id, r.json), GOLDEN_TRACES[exp_id])
    assert not diff, f"{exp_id} on the C runner differs from its golden trace (got vs golden):\n" + "\n".join(diff[:20])


def test_c_presets_ran_on_c_runners(c_server: Server, c_lab: Lab):
    """The runs above were cloned by `ipclab-runner` processes: the C spawner's runners run that image."""
    r = c_lab.run({"experiment": "pipe.hello"})
    assert r.status == 200, r.body[:500]
    runner = os.path.realpath(server_binary().parent / "ipclab-runner")
    (c_pid,) = [pid for pid, argv in spawners(c_server) if "--runner-executable" in argv]
    images = set()
    for pid in children(c_pid):
        try:
            images.add(os.path.realpath(f"/proc/{pid}/exe"))
        except OSError:
            pass
    assert runner in images, f"no runner of the C spawner runs {runner}: {images}"


def check_program_run(lab: Lab) -> None:
    """A program run (the Swift spawner's): compiled, traced by the interposer, its two processes' output."""
    r = lab.run(PROGRAM_RUN)
    assert r.status == 200, r.body[:500]
    run = r.json["run"]
    assert run["outcome"] == "ok" and run["tracer"] == "interposer", run
    procs = {p["name"]: p for p in r.json["processes"]}
    assert sorted(procs) == ["parent", "parent.1"], procs
    assert all(p["exit"] == {"code": 0} for p in procs.values()), procs
    assert procs["parent"]["stdout"] == "parent done, child exited 0\n", procs["parent"]


def test_programs_still_run_on_swift(c_lab: Lab):
    check_program_run(c_lab)


def test_either_spawner_dies_and_is_replaced(c_server: Server, c_lab: Lab):
    """Killing one spawner, then the other: the server notices (/healthz counts the restart), starts a new one
    with the same arguments, and runs of both kinds go on; the dead one is reaped, whichever it was."""
    before = c_lab.get("/healthz").json["spawner"]["restarts"]
    for killed, c_runners in enumerate([True, False], 1):
        found = spawners(c_server)
        (pid,) = [p for p, argv in found if ("--runner-executable" in argv) == c_runners]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        health = c_lab.get("/healthz")
        while time.monotonic() < deadline and not (
                health.json["spawner"]["restarts"] >= before + killed and health.json["spawner"]["state"] == "running"):
            time.sleep(0.05)
            health = c_lab.get("/healthz")
        assert health.status == 200, health.json
        assert health.json["spawner"]["restarts"] == before + killed, health.json
        # /proc/PID/task/*/children can miss a child for a moment (the kernel says it is not reliable
        # while the process runs; the replacing thread may be moving its children): ask again briefly.
        now = spawners(c_server)
        while time.monotonic() < deadline and len(now) != 2:
            time.sleep(0.05)
            now = spawners(c_server)
        assert len(now) == 2 and pid not in {p for p, _ in now}, now
        assert sorted(argv[1:] for _, argv in now) == sorted(argv[1:] for _, argv in found), "a spawner came back with other arguments"
        for exp_id, body in requests_for(["pipe.hello"]):
            r = c_lab.run(body)
            assert r.status == 200, r.body[:500]
            diff = differences(normalise(exp_id, r.json), GOLDEN_TRACES[exp_id])
            assert not diff, f"{exp_id} after a spawner was replaced:\n" + "\n".join(diff[:20])
        check_program_run(c_lab)
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        assert state != "Z", f"the killed spawner {pid} was not reaped"
