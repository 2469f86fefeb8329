"""A run alone has its init kept to one core, the sandbox's spawner's; a run started while another is in
flight has its init on every core; the runs' own processes may use every core either way (a race needs
two); `ipclab serve --no-run-core` keeps to none (README, "Runners": "A run's init alone keeps to the
spawner's core"). Read from /proc/PID/status (`Cpus_allowed_list`, `PPid`)."""
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


def parent(pid: int) -> int:
    return int(re.search(r"^PPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


def run_two(srv: Any) -> tuple[set[int], set[int], set[int], set[int], set[int]]:
    """A run alone, then a second while the first goes on: what each run's init and process, and the
    spawner, may use."""
    first, second = marker(), marker()
    results: dict[str, Any] = {}
    threads = [post_in_background(srv, sleeper(first, 1500), results, "first")]
    pid = wait_for_pid(first)
    alone, alone_init = allowed(pid), allowed(parent(pid))
    threads.append(post_in_background(srv, sleeper(second, 300), results, "second"))
    pid = wait_for_pid(second)
    beside, beside_init = allowed(pid), allowed(parent(pid))
    for t in threads:
        t.join(15)
    for key in ("first", "second"):
        assert not isinstance(results.get(key), BaseException), results.get(key)
        assert results[key]["run"]["outcome"] == "ok", results[key]["run"]
    return alone_init, alone, beside_init, beside, allowed(spawner_pid(srv))


def test_a_runs_init_alone_keeps_to_the_spawners_core_and_its_processes_use_every_core():
    srv = start_server()
    try:
        alone_init, alone, beside_init, beside, spawner = run_two(srv)
    finally:
        srv.stop(signal.SIGTERM)
    assert alone == beside == EVERY, f"a run's processes may use every core {sorted(EVERY)}: {sorted(alone)}, {sorted(beside)}"
    if len(EVERY) < 2:
        # One core: no core to keep to (RunCore.choose answers none), and nothing is kept to any.
        assert spawner == alone_init == beside_init == EVERY, (sorted(spawner), sorted(alone_init), sorted(beside_init))
        return
    assert len(spawner) == 1 and spawner <= EVERY, f"the spawner keeps to one core of {sorted(EVERY)}: {sorted(spawner)}"
    assert alone_init == spawner, f"a run's init alone keeps to the spawner's core {sorted(spawner)}, not {sorted(alone_init)}"
    assert beside_init == EVERY, f"a run's init beside another may use every core {sorted(EVERY)}, not {sorted(beside_init)}"


def test_no_run_core_keeps_to_none():
    srv = start_server("--no-run-core")
    try:
        found = run_two(srv)
    finally:
        srv.stop(signal.SIGTERM)
    assert all(cpus == EVERY for cpus in found), [sorted(cpus) for cpus in found]


CPUS_ALLOWED = r'''
#include <stdio.h>
#include <string.h>
int main(void) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Cpus_allowed_list:", 18) == 0) fputs(line + 18, stdout);
    return 0;
}
'''


def test_a_program_run_alone_may_use_every_core(lab):
    """A program (the Swift runner's init, which a run alone keeps to the spawner's core too) runs on every
    core, as a program's threads need; it says so from its own /proc/self/status."""
    from test_programs import program, run_programs  # noqa: PLC0415 — the program tests' helpers
    trace = run_programs(lab, [program("cores", CPUS_ALLOWED)])
    [proc] = trace["processes"]
    text = proc["stdout"].strip()
    cpus: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    assert cpus == EVERY, f"the program may use {text!r}, not every core {sorted(EVERY)}"


def test_a_runs_processes_keep_the_cores_the_server_was_given():
    """A server kept to one core (`taskset`) gives its runs that core only: a run's first process takes back
    the cores its runner had, not every core of the machine."""
    first = min(EVERY)
    srv = start_server(wrapper=("taskset", "-c", str(first)))
    try:
        found = run_two(srv)
    finally:
        srv.stop(signal.SIGTERM)
    assert all(cpus == {first} for cpus in found), [sorted(cpus) for cpus in found]
