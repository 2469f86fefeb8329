"""A run alone keeps to one core, the sandbox's spawner's; a run started while another is in flight may
use every core; `ipclab serve --no-run-core` keeps to none (README, "Runners": "A run alone keeps to one
core"). Read from /proc/PID/status (`Cpus_allowed_list`) of the spawner and of the runs' processes."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any

from harness import start_server
from test_isolation import marker, post_in_background, sleeper, spawner_pid, wait_for_pid


def allowed(pid: int) -> set[int]:
    """The CPUs process `pid` may run on."""
    text = re.search(r"^Cpus_allowed_list:\s+(\S+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1)
    cpus: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


EVERY = os.sched_getaffinity(0)


def run_two(srv: Any) -> tuple[set[int], set[int], set[int]]:
    """A run alone, then a second while the first goes on: what each run's process and the spawner may use."""
    first, second = marker(), marker()
    results: dict[str, Any] = {}
    threads = [post_in_background(srv, sleeper(first, 1500), results, "first")]
    alone = allowed(wait_for_pid(first))
    threads.append(post_in_background(srv, sleeper(second, 300), results, "second"))
    beside = allowed(wait_for_pid(second))
    for t in threads:
        t.join(15)
    for key in ("first", "second"):
        assert not isinstance(results.get(key), BaseException), results.get(key)
        assert results[key]["run"]["outcome"] == "ok", results[key]["run"]
    return alone, beside, allowed(spawner_pid(srv))


def test_a_run_alone_keeps_to_the_spawners_core_and_one_beside_it_may_use_every_core():
    srv = start_server()
    try:
        alone, beside, spawner = run_two(srv)
    finally:
        srv.stop(signal.SIGTERM)
    if len(EVERY) < 2:
        # One core: no core to keep to (RunCore.choose answers none), and nothing is kept to any.
        assert spawner == alone == beside == EVERY, (sorted(spawner), sorted(alone), sorted(beside))
        return
    assert len(spawner) == 1 and spawner <= EVERY, f"the spawner keeps to one core of {sorted(EVERY)}: {sorted(spawner)}"
    assert alone == spawner, f"a run alone keeps to the spawner's core {sorted(spawner)}, not {sorted(alone)}"
    assert beside == EVERY, f"a run beside another may use every core {sorted(EVERY)}, not {sorted(beside)}"


def test_no_run_core_keeps_to_none():
    srv = start_server("--no-run-core")
    try:
        alone, beside, spawner = run_two(srv)
    finally:
        srv.stop(signal.SIGTERM)
    assert spawner == alone == beside == EVERY, (sorted(spawner), sorted(alone), sorted(beside))
