"""Faults: the spawner killed during a run, and SIGTERM during runs. Nothing of a run outlives it.

The spawner is the single-threaded process that starts every run (its pid is in /healthz); each
run's processes are its descendants. The tests list those processes while a run is in flight and
check afterwards that every one of them is gone (not even a zombie).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import requests

from contract import check_response
from harness import children, start_server


def sleep_run(ms: int) -> dict:
    return {"scenario": {"channels": [], "processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": ms}]}]},
            "limits": {"wall_ms": ms + 2000}}


def waiting_init(pid: int) -> bool:
    """A process the spawner keeps ready, not part of any run: a run init cloned ahead of time,
    waiting for a run (named `ipclab-ready`), or a runner (`ipclab-slot`; while it execs a fresh image,
    named after its executable: `ipclab-runner runner`, or `ipclab runner` / `ipclab-sandbox runner`)."""
    try:
        return (Path(f"/proc/{pid}/comm").read_text().strip() in ("ipclab-ready", "ipclab-slot")
                or (Path(f"/proc/{pid}/comm").read_text().strip() in ("exe", "ipclab", "ipclab-sandbox", "ipclab-runner")
                    and Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:2] == [b"runner"]))
    except OSError:
        return False


def described(pid: int) -> str:
    """`pid` with its name, command line and parent, for a failure's message."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (f"{pid} {Path(f'/proc/{pid}/comm').read_text().strip()!r} state {stat[0]} ppid {stat[1]} "
                f"{Path(f'/proc/{pid}/cmdline').read_bytes()[:60]!r}")
    except OSError:
        return f"{pid} (gone)"


def descendants(pid: int, include_waiting: bool = False) -> set[int]:
    """Every process under `pid`; the spawner's waiting inits only with `include_waiting`."""
    seen: set[int] = set()
    todo = children(pid)
    while todo:
        p = todo.pop()
        if p not in seen and (include_waiting or not waiting_init(p)):
            seen.add(p)
            todo += children(p)
    return seen


def alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def zombies_under(pid: int) -> list[int]:
    return [c for c in children(pid) if exists(c) and not alive(c)]


def spawner(base_url: str) -> dict:
    r = requests.get(base_url + "/healthz", timeout=5)
    health = check_response("GET", "/healthz", r.status_code, r.content, r.headers["content-type"], r.headers)
    return health["spawner"]


def wait_for(predicate, limit_s: float, what: str):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {limit_s} s waiting for {what}")


def post_in_background(base_url: str, body: dict, into: dict, key) -> threading.Thread:
    def post() -> None:
        try:
            r = requests.post(base_url + "/api/v1/runs", json=body, timeout=20)
            into[key] = r
        except requests.RequestException as e:
            into[key] = e
    t = threading.Thread(target=post, daemon=True)
    t.start()
    return t


def test_spawner_killed_during_a_run():
    """kill -9 of the spawner during a 1.5 s run: that run is answered 503 (Retry-After) naming the
    spawner's death; a run queued behind it (one run thread) is not in flight, so it is served by the
    new spawner; the next run is ok; no process of the dead spawner's run is left."""
    srv = start_server("--max-runs", "1")
    try:
        first = spawner(srv.base_url)
        assert first["state"] == "running" and first["restarts"] == 0
        old = first["pid"]
        results: dict = {}
        thread = post_in_background(srv.base_url, sleep_run(1500), results, "run")
        # The run is in flight once the spawner has a child (its init) that has a child (the sleeper).
        run_pids = wait_for(lambda: (d := descendants(old)) and len(d) >= 2 and d, 5, "the run's processes")
        queued = post_in_background(srv.base_url, {"experiment": "pipe.hello"}, results, "queued")
        wait_for(lambda: "ipclab_run_queue_depth 1" in requests.get(srv.base_url + "/metrics", timeout=5).text,
                 5, "the second run to queue")
        os.kill(old, signal.SIGKILL)
        thread.join(10)
        queued.join(10)
        r = results["run"]
        assert isinstance(r, requests.Response), r
        value = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
        assert r.status_code == 503, r.content[:300]
        assert value["error"]["code"] == "unavailable"
        assert "spawner" in value["error"]["message"] and "died" in value["error"]["message"]
        assert str(old) in value["error"]["message"]
        assert int(r.headers["Retry-After"]) >= 1
        assert r.elapsed.total_seconds() < 1.4, "answered only when the run would have ended anyway"

        r = results["queued"]
        assert isinstance(r, requests.Response), r
        trace = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
        assert r.status_code == 200 and trace["run"]["outcome"] == "ok", r.content[:300]

        now = spawner(srv.base_url)
        assert now["state"] == "running" and now["restarts"] == 1 and now["pid"] not in (old, None)
        r = requests.post(srv.base_url + "/api/v1/runs", json={"experiment": "pipe.hello"}, timeout=10)
        trace = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
        assert r.status_code == 200 and trace["run"]["outcome"] == "ok"

        wait_for(lambda: not any(alive(p) for p in run_pids | {old}), 3, "the dead spawner's run to be gone")
        wait_for(lambda: not any(exists(p) for p in run_pids | {old}), 3, "its zombies to be reaped")
        # Besides the spawners (the new one and the Swift runners' one, untouched), only their runners and
        # the inits they cloned ahead of time (none of the old spawner's).
        spawners = {s["pid"] for s in requests.get(srv.base_url + "/healthz", timeout=5).json()["spawners"]}
        assert now["pid"] in spawners and old not in spawners

        def theirs(p: int) -> bool:
            """A spawner's runner or waiting init, or a process gone since the scan that found it (an init
            taken by a run or dropped meanwhile ends; only one still there can linger)."""
            return (waiting_init(p) and any(p in children(s) for s in spawners)) or not alive(p)

        # The old spawner's runners and waiting inits die with it (their parent-death signal), and the
        # server, the subreaper, reaps them: their exits may still be under way. They must end, not linger.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (zombies_under(srv.process.pid)
                                               or not all(theirs(p) for p in descendants(srv.process.pid, include_waiting=True) - spawners)):
            time.sleep(0.02)
        assert zombies_under(srv.process.pid) == []
        left = descendants(srv.process.pid, include_waiting=True) - spawners
        assert all(theirs(p) for p in left), \
            f"something besides the spawners and their waiting inits runs: {[described(p) for p in sorted(left)]}"
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


def test_sigterm_ends_every_run():
    """SIGTERM while two runs are in flight: the server answers them, exits 0, and leaves no process."""
    srv = start_server()
    results: dict = {}
    try:
        spawner_pid = spawner(srv.base_url)["pid"]
        threads = [post_in_background(srv.base_url, sleep_run(1200), results, i) for i in range(2)]
        wait_for(lambda: len(descendants(spawner_pid)) >= 4, 5, "two runs in flight")
        everything = descendants(srv.process.pid, include_waiting=True)
    finally:
        status = srv.stop(signal.SIGTERM, timeout=10)
    assert status == 0, srv.stderr_tail()
    for t in threads:
        t.join(10)
    for i in range(2):
        r = results[i]
        assert isinstance(r, requests.Response), r
        check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
        assert r.status_code in (200, 503)
    wait_for(lambda: not any(alive(p) for p in everything), 3, "every process of the server to be gone")
