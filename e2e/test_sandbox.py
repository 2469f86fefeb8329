"""Adversarial scenarios against the sandbox, through the HTTP API: calls the seccomp filter refuses,
signals aimed outside the run, FIFO paths with `..` or through a host symlink. During each, /healthz
keeps answering within 100 ms (measured from another process), and afterwards nothing of the run is left
on the host. And `serve` refuses to start without PID, IPC and mount namespaces (taken away with the
kernel's per-user-namespace limits) unless `--insecure-no-sandbox` is given.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from contract import REPO
from harness import RUN_UIDS, STOP_TIMEOUT_S, Lab, server_binary, start_server
from traces import calls, check_trace, holds, process

HEALTH_LIMIT_S = 0.100
USERNS_LIMITED = [sys.executable, str(REPO / "e2e" / "userns_limited.py")]

DENIED = ["ptrace", "process_vm_readv", "unshare", "setns", "mount", "clone", "clone3", "bpf", "perf_event_open",
          "io_uring_setup", "keyctl", "add_key", "userfaultfd", "kexec_load", "init_module", "reboot", "swapon",
          "open_by_handle_at"]


# ---------------------------------------------------------------- helpers


# The probe runs in a process of its own: a thread of this one would wait for the GIL while the
# test checks a large trace against the schema, and measure the test instead of the server.
PROBE = r"""
import select, sys, time, urllib.request
url = sys.argv[1] + "/healthz"
while not select.select([sys.stdin], [], [], 0.02)[0]:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            r.read()
            status = r.status
    except Exception as e:
        print("error", repr(e).replace(" ", "_"), flush=True)
        continue
    print(time.monotonic() - t0, status, flush=True)
"""


class HealthProbe:
    """GET /healthz every 20 ms from another process (a new connection each time); keeps each
    answer's time, read by a thread here."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.samples: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def _read(self) -> None:
        assert self._process and self._process.stdout
        for line in self._process.stdout:
            first, second = line.split()
            if first == "error":
                self.errors.append(second)
            else:
                self.samples.append((float(first), int(second)))

    def _answers(self) -> int:
        return len(self.samples) + len(self.errors)

    def _wait_for_more_than(self, seen: int) -> None:
        deadline = time.monotonic() + 5
        while self._answers() <= seen and time.monotonic() < deadline:
            time.sleep(0.005)

    def __enter__(self) -> "HealthProbe":
        self._process = subprocess.Popen([sys.executable, "-c", PROBE, self.base_url], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, name="healthz-probe", daemon=True)
        self._reader.start()
        self._wait_for_more_than(0)  # probing before the adversary starts
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wait_for_more_than(self._answers())  # and once more after it, however short it was
        assert self._process and self._process.stdin and self._reader
        self._process.stdin.close()
        self._process.wait(timeout=5)
        self._reader.join(timeout=5)

    def check(self) -> None:
        assert not self.errors, f"/healthz failed meanwhile: {self.errors[:3]}"
        assert len(self.samples) >= 2, f"/healthz was asked only {len(self.samples)} times"
        assert all(status == 200 for _, status in self.samples), self.samples
        worst = max(t for t, _ in self.samples)
        assert worst < HEALTH_LIMIT_S, \
            f"/healthz took {worst * 1000:.1f} ms (limit {HEALTH_LIMIT_S * 1000:.0f} ms) over {len(self.samples)} probes"


def host_processes(prefix: str) -> dict[int, str]:
    """Host processes whose comm (a run's process name) starts with `prefix`."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith(prefix):
                found[int(entry)] = comm
    return found


def nobody_sysv() -> int:
    """SysV objects owned by a run's uid on the host (RUN_UIDS)."""
    count = 0
    for table in ("shm", "sem", "msg"):
        with open(f"/proc/sysvipc/{table}") as f:
            header = f.readline().split()
            uid = header.index("uid")
            count += sum(1 for line in f if int(line.split()[uid]) in RUN_UIDS)
    return count


@contextmanager
def adversary(lab: Lab, marker: str, keep: tuple[str, ...] = ()) -> Iterator[HealthProbe]:
    """/healthz answers within 100 ms throughout, and no process, file or SysV object of the run stays
    (`keep`: the test's own files in /tmp)."""
    sysv_before = nobody_sysv()
    with HealthProbe(lab.server.base_url) as probe:
        yield probe
    probe.check()
    deadline = time.monotonic() + 2
    while host_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert host_processes(marker) == {}, "processes of the run outlived it"
    assert [e for e in os.listdir("/dev/shm") if marker in e] == []
    assert [e for e in os.listdir("/tmp") if e.startswith(marker) and e not in keep] == []
    assert nobody_sysv() <= sysv_before, "a SysV object of a run's uid appeared on the host"


def scenario(*processes: tuple[str, list[dict[str, Any]]], channels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"scenario": {"channels": channels or [],
                         "processes": [{"name": name, "steps": steps} for name, steps in processes]},
            "limits": {"wall_ms": 3000}}


def marker() -> str:
    return "sbx" + uuid.uuid4().hex[:8]


# ---------------------------------------------------------------- seccomp


def test_denied_calls_are_refused_with_eperm(lab):
    m = marker()
    with adversary(lab, m):
        r = lab.run({"experiment": "sandbox.denied_calls"})
    assert r.status == 200, r.body[:500]
    trace = r.json
    check_trace(trace)
    assert trace["run"]["outcome"] == "ok", trace["run"]
    assert holds(trace) == {"refused": True, "process_lives": True}
    for call in DENIED:
        (event,) = calls(trace, call, "prober")
        assert event["result"] == -1 and event["errno"] == ("ENOSYS" if call == "clone3" else "EPERM"), event
    assert calls(trace, "getppid", "prober")[0]["result"] == 1  # the run's init: the control call works
    sandbox = trace["run"]["sandbox"]
    assert sandbox["seccomp"] == {"mode": "filter", "filters": 2}  # the base, installed ahead, and the late one
    ops = {op["op"]: op for op in sandbox["setup"]}
    for op in ("no_new_privs", "dumpable off", "seccomp filter"):
        assert ops[op]["result"] == 0 and ops[op]["errno"] is None, ops.get(op)


def test_try_syscall_in_a_custom_scenario_lets_the_process_go_on(lab):
    m = marker()
    steps = [{"op": "try_syscall", "call": c} for c in ("ptrace", "mount", "unshare", "bpf", "io_uring_setup")]
    with adversary(lab, m):
        r = lab.run(scenario((m + "_a", steps + [{"op": "sleep", "ms": 1}])))
    trace = r.json
    check_trace(trace)
    assert trace["run"]["outcome"] == "ok"
    answers = [(e["call"], e["result"], e["errno"]) for e in trace["events"] if e["call"] != "exit"]
    assert answers[:5] == [(c, -1, "EPERM") for c in ("ptrace", "mount", "unshare", "bpf", "io_uring_setup")]
    assert calls(trace, "nanosleep")[0]["result"] == 0
    assert process(trace, m + "_a")["exit"] == {"code": 0}


@pytest.mark.parametrize("step, path", [
    ({"op": "try_syscall", "call": "execve"}, "scenario.processes[0].steps[0].call"),
    ({"op": "try_syscall"}, "scenario.processes[0].steps[0].call"),
    ({"op": "try_syscall", "call": "ptrace", "pid": 1}, "scenario.processes[0].steps[0].pid"),
])
def test_try_syscall_takes_no_chosen_call_or_argument(lab, step, path):
    r = lab.run(scenario(("a", [step])))
    assert r.status == 400, r.body[:300]
    assert r.json["error"]["path"] == path, r.json


# ---------------------------------------------------------------- signals aimed outside the run


@pytest.mark.parametrize("step, path", [
    ({"op": "kill", "pid": 1, "signal": "SIGKILL"}, "pid"),
    ({"op": "kill", "pid": -1, "signal": "SIGKILL"}, "pid"),
    ({"op": "kill", "process": 1, "signal": "SIGKILL"}, "process"),
    ({"op": "kill", "process": -1, "signal": "SIGKILL"}, "process"),
    ({"op": "kill", "process": "init", "signal": "SIGKILL"}, "process"),
    ({"op": "kill", "process": "*", "signal": "SIGTERM"}, "process"),
    ({"op": "sigqueue", "pid": 1, "signal": "SIGUSR1", "value": 1}, "pid"),
    ({"op": "sigqueue", "process": 0, "signal": "SIGUSR1", "value": 1}, "process"),
])
def test_a_signal_cannot_name_anything_outside_the_run(lab, step, path):
    r = lab.run(scenario(("a", [step]), ("b", [{"op": "sleep", "ms": 1}])))
    err = r.error(400, r.json["error"]["code"])
    assert err["code"] in ("invalid_scenario", "unknown_field"), err
    assert err["path"] == f"scenario.processes[0].steps[0].{path}", err


def test_a_host_process_survives_signals_sent_in_a_run(lab):
    """A host `sleep` and a run's process named like it: SIGKILL by that name reaches only the run's."""
    m = marker()
    host = subprocess.Popen(["sleep", "60"])
    try:
        with adversary(lab, m):
            r = lab.run(scenario(
                (m + "_k", [{"op": "sleep", "ms": 50},
                            {"op": "kill", "process": "sleep", "signal": "SIGKILL"},
                            {"op": "kill", "process": m + "_t", "signal": "SIGTERM"},
                            {"op": "try_syscall", "call": "ptrace"},
                            {"op": "try_syscall", "call": "process_vm_readv"},
                            {"op": "wait", "process": "sleep"}, {"op": "wait", "process": m + "_t"}]),
                ("sleep", [{"op": "sleep", "ms": 2000}]),
                (m + "_t", [{"op": "sleep", "ms": 2000}])))
        trace = r.json
        check_trace(trace)
        assert trace["run"]["outcome"] == "ok", trace["run"]
        assert process(trace, "sleep")["exit"] == {"signal": "SIGKILL", "core_dumped": False}
        assert process(trace, m + "_t")["exit"] == {"signal": "SIGTERM", "core_dumped": False}
        kills = calls(trace, "kill", m + "_k")
        assert [k["result"] for k in kills] == [0, 0]
        # Each went to a pid of the run's own PID namespace.
        assert {k["args"]["pid"] for k in kills} == {process(trace, "sleep")["pid"], process(trace, m + "_t")["pid"]}
        assert all(p["pid"] < 10 for p in trace["processes"])
        assert host.poll() is None, "the host's sleep died"
        assert Path(f"/proc/{host.pid}/stat").read_text().split(") ")[1][0] in "SR"
    finally:
        host.kill()
        host.wait()


# ---------------------------------------------------------------- FIFO paths


@pytest.mark.parametrize("path", [
    "/tmp/../etc/passwd", "/tmp/../../root/x", "/tmp/a/../../etc/shadow", "/tmp/./x", "/tmp//x", "/etc/passwd",
    "tmp/x", "/tmp/", "/tmp/..", "/dev/shm/x", "/tmp/a b",
])
def test_a_fifo_path_leaving_tmp_is_400_naming_the_field(lab, path):
    r = lab.run(scenario(("a", [{"op": "open", "channel": "f", "end": "read", "nonblocking": True}]),
                         channels=[{"name": "f", "kind": "fifo", "path": path}]))
    err = r.error(400, "invalid_scenario")
    assert err["path"] == "scenario.channels[0].path", err


@pytest.mark.parametrize("kind", ["unix_stream", "unix_dgram"])
def test_a_unix_socket_path_with_dotdot_is_400(lab, kind):
    r = lab.run(scenario(("a", [{"op": "sleep", "ms": 1}]),
                         channels=[{"name": "s", "kind": kind, "path": "/tmp/../run/x.sock"}]))
    err = r.error(400, "invalid_scenario")
    assert err["path"] == "scenario.channels[0].path", err


def test_a_host_symlink_at_the_fifo_path_is_never_followed(lab, tmp_path):
    """The host has /tmp/<marker>_link -> a file outside /tmp; a run makes a FIFO at that path and
    writes through it. The run's /tmp is its own tmpfs: the FIFO is made there, the host file keeps
    its bytes and the link stays as it was."""
    m = marker()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"host data\n")
    link = Path("/tmp") / (m + "_link")
    link.symlink_to(victim)
    try:
        fifo = {"name": "f", "kind": "fifo", "path": str(link)}
        with adversary(lab, m, keep=(link.name,)):
            r = lab.run(scenario(
                (m + "_procw", [{"op": "open", "channel": "f", "end": "write"},
                                {"op": "write", "channel": "f", "data": "OVERWRITTEN"},
                                {"op": "close", "channel": "f", "end": "write"},
                                {"op": "wait", "process": m + "_procr"}]),
                (m + "_procr", [{"op": "open", "channel": "f", "end": "read"},
                                {"op": "read_all", "channel": "f", "size": 64}]),
                channels=[fifo]))
        trace = r.json
        check_trace(trace)
        assert trace["run"]["outcome"] == "ok", trace["run"]
        mkfifo = [e for e in trace["events"] if e["call"] == "mkfifo"]
        assert mkfifo and mkfifo[0]["result"] == 0, mkfifo  # nothing was at that path inside the run
        reads = [e for e in calls(trace, "read", m + "_procr") if e["result"]]
        assert reads and reads[0]["payload"]["text"] == "OVERWRITTEN"
        assert victim.read_bytes() == b"host data\n"
        assert link.is_symlink() and os.readlink(link) == str(victim)
    finally:
        link.unlink()


def test_a_host_symlink_at_a_send_fd_path_is_never_followed(lab, catalog, tmp_path):
    """socket.fd_passing opens (O_CREAT) and writes a file at its path: a host symlink there is not seen."""
    m = marker()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"host data\n")
    link = Path("/tmp") / (m + "_fd")
    link.symlink_to(victim)
    try:
        spec = lab.get("/api/v1/experiments/socket.fd_passing").json["scenario"]
        sends = [s for p in spec["processes"] for s in p["steps"] if s["op"] == "send_fd"]
        assert sends, spec
        for s in sends:
            s["path"] = str(link)
            s["data"] = "OVERWRITTEN"
        with adversary(lab, m, keep=(link.name,)):
            r = lab.run({"scenario": spec})
        trace = r.json
        check_trace(trace)
        assert trace["run"]["outcome"] == "ok", trace["run"]
        assert victim.read_bytes() == b"host data\n"
        assert link.is_symlink() and os.readlink(link) == str(victim)
    finally:
        link.unlink()


# ---------------------------------------------------------------- the minimum to start


@pytest.mark.parametrize("kinds, names", [
    ("pid", ["pid_namespace"]), ("ipc", ["ipc_namespace"]), ("mnt", ["mount_namespace"]),
    ("pid,ipc,mnt", ["pid_namespace", "ipc_namespace", "mount_namespace"]),
])
def test_serve_refuses_to_start_without_pid_ipc_and_mount_namespaces(kinds, names):
    done = subprocess.run([*USERNS_LIMITED, kinds, str(server_binary()), "serve", "--host", "127.0.0.1",
                           "--port", "0", "--public", "public"],
                          cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "listening on" not in done.stdout
    assert "refusing to start" in done.stderr, done.stderr[-2000:]
    assert "--insecure-no-sandbox" in done.stderr
    # The message names what the host would not make.
    for name in names:
        assert name.split("_")[0] in done.stderr, done.stderr[-2000:]


def test_serve_starts_with_insecure_no_sandbox_and_says_so():
    srv = start_server("--insecure-no-sandbox", wrapper=tuple(USERNS_LIMITED) + ("pid",))
    try:
        lab = Lab(srv)
        h = lab.get("/healthz").json
        assert h["insecure"] is True
        assert "pid" not in h["sandbox"]["namespaces"]
        assert {"ipc", "mount"} <= set(h["sandbox"]["namespaces"])
        missing = {p["name"]: p["reason"] for p in h["protections"]["missing"]}
        assert "pid_namespace" in missing and "PID" in missing["pid_namespace"]
        assert "pid_namespace" not in h["protections"]["active"]
        assert "seccomp" in h["protections"]["active"]
        assert "INSECURE" in srv.stderr_tail(80) and "protection missing: pid_namespace" in srv.stderr_tail(80)
        spawner = h["spawner"]
        assert spawner["state"] == "running" and spawner["pid"] > 0

        # Runs work with what the host gives; a run that blocks is still ended at its wall limit.
        m = marker()
        ok = lab.run({"experiment": "pipe.hello"}).json
        assert ok["run"]["outcome"] == "ok" and all(holds(ok).values()), ok["run"]
        assert "pid" not in ok["run"]["sandbox"]["namespaces"]
        stuck = lab.run(scenario((m + "_r", [{"op": "read", "channel": "p", "size": 1}]),
                                 (m + "_w", [{"op": "sleep", "ms": 5000}]),
                                 channels=[{"name": "p", "kind": "pipe"}]) | {"limits": {"wall_ms": 300}}).json
        assert stuck["run"]["outcome"] == "timeout", stuck["run"]
        time.sleep(0.2)
        assert host_processes(m) == {}, "without a PID namespace, the run's process group is still killed"
    finally:
        status = srv.stop(signal.SIGTERM)
    assert status == 0, f"exit status {status} (limit {STOP_TIMEOUT_S} s)\n{srv.stderr_tail()}"
    assert not Path(f"/proc/{spawner['pid']}").exists() or \
        Path(f"/proc/{spawner['pid']}/stat").read_text().split(") ")[1][0] == "Z", "the spawner outlived the server"


def test_healthz_reports_protections_and_the_spawner(lab):
    h = lab.get("/healthz").json
    assert h["insecure"] is False
    active = set(h["protections"]["active"])
    assert {"pid_namespace", "ipc_namespace", "mount_namespace", "seccomp", "no_new_privs", "dumpable_off",
            "private_tmpfs", "read_only_root"} <= active, h["protections"]
    assert not active & {p["name"] for p in h["protections"]["missing"]}
    assert h["spawner"]["state"] == "running" and h["spawner"]["restarts"] >= 0
    assert Path(f"/proc/{h['spawner']['pid']}/cmdline").read_bytes().split(b"\0")[1] == b"spawner"
