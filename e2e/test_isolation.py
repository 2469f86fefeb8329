"""Runs share nothing with the server or with each other (issue #12): a run's processes descend from an
exec'd runner with an environment of its own, hold no byte of the server's environment nor of another
run's plan, do not share an address layout with the run before, and each run has a host uid of its own,
so one run's use of a per-user kernel limit takes nothing from another.

Everything a run could read of its own memory is read here from the host, as root, through
/proc/PID/mem: that is a superset of what any step (load, load_pointer, read_pointer) could show."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from contract import check_response
from harness import RUN_UIDS, Server, start_server


def marker() -> str:
    return "zq" + uuid.uuid4().hex[:14]


def start_with_env(extra_env: dict[str, str], *args: str) -> Server:
    old = {k: os.environ.get(k) for k in extra_env}
    os.environ.update(extra_env)
    try:
        return start_server(*args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def post(srv: Server, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    r = requests.post(srv.base_url + "/api/v1/runs", json=body, timeout=timeout)
    value = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
    assert r.status_code == 200, r.content[:500]
    return value


def post_in_background(srv: Server, body: dict[str, Any], out: dict[str, Any], key: str) -> threading.Thread:
    def go() -> None:
        try:
            out[key] = post(srv, body)
        except BaseException as e:  # noqa: BLE001 — reported by the test
            out[key] = e
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def sleeper(name: str, ms: int, data: str = "x") -> dict[str, Any]:
    """A run of one process named `name` that writes `data` into a pipe, then sleeps `ms`."""
    return {"scenario": {"channels": [{"name": "p", "kind": "pipe"}],
                         "processes": [{"name": name, "steps": [{"op": "write", "channel": "p", "data": data},
                                                                {"op": "sleep", "ms": ms}]}]},
            "limits": {"wall_ms": ms + 3000}}


def pids_named(name: str) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() == name[:15]:
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def wait_for_pid(name: str, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pids_named(name)
        if pids:
            return pids[0]
        time.sleep(0.02)
    raise AssertionError(f"no process named {name} appeared")


def runners_and_ready(spawner: int) -> list[int]:
    """The spawner's runners (`ipclab runner`) and ready inits: the processes future runs come from."""
    out = []
    for task in Path(f"/proc/{spawner}/task").iterdir():
        for c in (task / "children").read_text().split():
            try:
                comm = Path(f"/proc/{c}/comm").read_text().strip()
                argv = Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # (A runner starting an image is still named after the file it execs: exe, ipclab-sandbox, ipclab.)
            if comm in ("ipclab-slot", "ipclab-ready") or (comm in ("exe", "ipclab", "ipclab-sandbox", "ipclab-runner") and argv[1:2] == [b"runner"]):
                out.append(int(c))
    return out


def memory_of(pid: int) -> Iterator[bytes]:
    """Every readable mapping of `pid`, read through /proc/PID/mem (as root). Nothing once `pid` is
    gone: a ready init cloned while runs were in flight is dropped after a pause (it shares a runner
    image), and what has exited is no process a later run comes from."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError):
        return
    try:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vvar_vclock]", "[vsyscall]")):
                continue
            pos = start
            while pos < end:
                n = min(end - pos, 1 << 20)
                try:
                    yield os.pread(fd, n, pos)
                except OSError:
                    pass
                pos += n
    finally:
        os.close(fd)


def memory_holds(pid: int, needle: bytes) -> bool:
    tail = b""
    for chunk in memory_of(pid):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def spawner_pid(srv: Server) -> int:
    return requests.get(srv.base_url + "/healthz", timeout=5).json()["spawner"]["pid"]


def binary_base(pid: int) -> int:
    """Where the ipclab binary's first mapping starts in `pid` (a PIE: chosen by ASLR at exec)."""
    exe = os.readlink(f"/proc/{pid}/exe")
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if line.endswith(exe) or line.endswith(exe + " (deleted)"):
            return int(line.split("-")[0], 16)
    raise AssertionError(f"no mapping of {exe} in {pid}")


@pytest.fixture(scope="module")
def secret_server() -> Iterator[tuple[Server, str]]:
    secret = marker()
    srv = start_with_env({"IPCLAB_TEST_SECRET": secret})
    yield srv, secret
    srv.stop(signal.SIGTERM)


def test_a_run_cannot_find_the_servers_environment(secret_server):
    """The server's environment holds a marker; no run process, runner or ready init has it in its
    environment (what /proc/self/environ would show inside) or anywhere in its memory."""
    srv, secret = secret_server
    server_env = Path(f"/proc/{srv.process.pid}/environ").read_bytes()
    assert secret.encode() in server_env, "the marker is not in the server's environment: the test would prove nothing"
    name = marker()
    results: dict[str, Any] = {}
    thread = post_in_background(srv, sleeper(name, 1500), results, "run")
    pid = wait_for_pid(name)
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert secret.encode() not in environ, f"the run's environment has the server's: {environ[:300]!r}"
    # A scenario runs on the C runner (the default `--run-image c`), whose environment is empty.
    assert environ.split(b"\0")[:-1] == [], f"a run's environment is only what it needs (nothing): {environ!r}"
    assert not memory_holds(pid, secret.encode()), "the server's environment is in a run process's memory"
    spawner = spawner_pid(srv)
    for p in [spawner] + runners_and_ready(spawner):
        assert secret.encode() not in Path(f"/proc/{p}/environ").read_bytes(), f"process {p} has the server's environment"
        assert not memory_holds(p, secret.encode()), f"the server's environment is in the memory of {p} (spawner side)"
    thread.join(10)
    assert results["run"]["run"]["outcome"] == "ok", results["run"]["run"]


def test_a_later_run_holds_nothing_of_an_earlier_runs_plan(secret_server):
    """A run's plan (here, the text it writes) is in no later run's memory, nor in the spawner's, the
    runners' and the ready inits' that later runs come from (the spawner never reads a plan)."""
    srv, _ = secret_server
    earlier = marker()
    trace = post(srv, sleeper(earlier + "_a", 10, data="plan-text-" + earlier))
    assert trace["run"]["outcome"] == "ok", trace["run"]
    for _ in range(3):  # a few runs, so every runner has cloned since
        post(srv, sleeper(marker(), 10))
    name = marker()
    results: dict[str, Any] = {}
    thread = post_in_background(srv, sleeper(name, 1500), results, "run")
    pid = wait_for_pid(name)
    needle = ("plan-text-" + earlier).encode()
    assert memory_holds(pid, name.encode()), "the scan does not find the run's own plan: it would prove nothing"
    assert not memory_holds(pid, needle), "an earlier run's plan is in a later run's memory"
    spawner = spawner_pid(srv)
    for p in [spawner] + runners_and_ready(spawner):
        assert not memory_holds(p, needle), f"an earlier run's plan is in the memory of {p} (spawner side)"
    thread.join(10)


def test_runs_in_a_row_have_different_address_layouts(secret_server):
    """Two runs one after the other: their processes' binary sits at different addresses (each came
    from a freshly exec'd runner image), and neither shares the spawner's layout."""
    srv, _ = secret_server
    bases = []
    for _ in range(3):
        name = marker()
        results: dict[str, Any] = {}
        thread = post_in_background(srv, sleeper(name, 300), results, "run")
        pid = wait_for_pid(name)
        bases.append(binary_base(pid))
        thread.join(10)
        assert results["run"]["run"]["outcome"] == "ok"
        time.sleep(0.3)  # idle: the runners start fresh images
    assert len(set(bases)) == len(bases), f"runs shared an address layout: {[hex(b) for b in bases]}"
    assert binary_base(spawner_pid(srv)) not in bases, "a run has the spawner's address layout"


def test_each_run_has_its_own_host_uid(secret_server):
    """Two runs at once have two different host uids, both from the run uid range."""
    srv, _ = secret_server
    names = [marker(), marker()]
    results: dict[str, Any] = {}
    threads = [post_in_background(srv, sleeper(n, 800), results, n) for n in names]
    uids = []
    for n in names:
        status = Path(f"/proc/{wait_for_pid(n)}/status").read_text()
        uids.append(int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)))
    for t in threads:
        t.join(10)
    assert uids[0] != uids[1], f"two live runs share host uid {uids[0]}"
    assert all(u in RUN_UIDS for u in uids), uids


def sigq(pid: int) -> tuple[int, int]:
    m = re.search(r"^SigQ:\s+(\d+)/(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)), int(m.group(2))


def test_a_run_that_fills_its_signal_queue_takes_nothing_from_another(secret_server):
    """One run blocks SIGRTMIN and queues signals to itself until sigqueue fails (RLIMIT_SIGPENDING is
    per user); meanwhile a separate run's sigqueue succeeds. With one host uid for all runs it failed
    with EAGAIN."""
    srv, _ = secret_server
    victim = marker()
    flood = [{"op": "sigqueue", "process": victim, "signal": "SIGRTMIN", "repeat": 4096}] * 30
    body = {"scenario": {"processes": [{"name": victim, "steps": [
                {"op": "sigprocmask", "how": "block", "signals": ["SIGRTMIN"]}, *flood, {"op": "sleep", "ms": 3000}]}]},
            "limits": {"wall_ms": 9000, "events": 64}}
    results: dict[str, Any] = {}
    thread = post_in_background(srv, body, results, "flood")
    pid = wait_for_pid(victim)
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        queued, limit = sigq(pid)
        if queued >= limit:
            break
        time.sleep(0.05)
    queued, limit = sigq(pid)
    assert queued >= limit, f"the flooding run did not fill its signal queue: SigQ {queued}/{limit}"
    other = post(srv, {"experiment": "signal.sigqueue"})
    sends = [e for e in other["events"] if e["call"] == "sigqueue"]
    assert sends and sends[0]["result"] == 0, f"another run's sigqueue failed while one run's queue was full: {sends}"
    assert all(o["holds"] for o in other["observations"]), other["observations"]
    thread.join(15)
    flooded = results["flood"]
    assert isinstance(flooded, dict) and flooded["run"]["events_dropped"] > 0, flooded


def test_more_than_four_runs_hold_full_size_posix_queues_at_once():
    """Eight runs at once, each with a POSIX queue of the most bytes a run may hold (204800): all open
    their queue. Charged to one host user (RLIMIT_MSGQUEUE 819200), only four fitted at once."""
    srv = start_server("--max-runs", "8")
    try:
        body = {"experiment": "mq.full", "params": {"max_messages": 200, "message_size": 928, "reader_delay_ms": 1000}}
        results: dict[str, Any] = {}
        start = threading.Barrier(8)

        def go(i: int) -> None:
            start.wait()
            try:
                results[i] = post(srv, body)
            except BaseException as e:  # noqa: BLE001
                results[i] = e
        threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        opened = []
        for i in range(8):
            trace = results[i]
            assert isinstance(trace, dict), trace
            opens = [e for e in trace["events"] if e["call"] == "mq_open"]
            opened.append(bool(opens) and opens[0]["errno"] is None)
        assert all(opened), f"mq_open failed in {opened.count(False)} of 8 concurrent runs: " + \
            "; ".join(str([o for o in results[i]["observations"] if o["id"] == "mq.full.limits"]) for i in range(8) if not opened[i])
    finally:
        srv.stop(signal.SIGTERM)


def test_a_ready_init_is_set_up_and_filtered_before_its_run(secret_server):
    """An init waiting for its run (`ipclab-ready`) has already done the set-up that depends on no run
    (its own /tmp, /dev/shm and /proc, the host's tree read-only), so a run only does what depends on
    its plan. It holds no_new_privs and both seccomp filters: the base, and the last one (mounts, new
    namespaces, process_vm_readv/writev), which most runs' set-up after go does not need; a run that does
    gets an init that waits for go with it (next test). The run's trace records that set-up in its order,
    before the limits and the lockdown, where the init reads the filters the kernel holds."""
    srv, _ = secret_server
    trace = post(srv, sleeper(marker(), 10))
    ops = [o["op"] for o in trace["run"]["sandbox"]["setup"]]
    assert ops.index("mount proc /proc") < ops.index("loopback up") < ops.index("RLIMIT_NOFILE 256") < ops.index("seccomp filter"), ops
    def mounts_of(pid: int) -> dict[str, tuple[list[str], str]]:
        mounts = {}
        try:
            lines = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
        except OSError:  # gone (dropped after a pause)
            return {}
        for line in lines:
            fields = line.split()
            sep = fields.index("-")
            # The last mount at a point is the one on top (a run's own /tmp over the host's).
            mounts[fields[4]] = (fields[5].split(",") + fields[sep + 3].split(","), fields[sep + 1])
        return mounts

    # A ready init sets itself up just after it is cloned: wait for one that has (none ever does on a
    # build that sets up only once the run arrives).
    deadline = time.monotonic() + 10
    pid, mounts = 0, {}
    while time.monotonic() < deadline:
        for p in runners_and_ready(spawner_pid(srv)):
            try:
                if Path(f"/proc/{p}/comm").read_text().strip() != "ipclab-ready":
                    continue
            except OSError:
                continue
            m = mounts_of(p)
            if "ro" in m.get("/", ([], ""))[0]:
                pid, mounts = p, m
        if pid:
            break
        time.sleep(0.05)
    assert pid, "no init waiting for a run has its set-up done"
    for point in ("/tmp", "/dev/shm"):  # the run's own, 16 MiB until its limits are known
        assert mounts.get(point, ([], ""))[1] == "tmpfs" and "size=16384k" in mounts[point][0], (point, mounts.get(point))
    assert mounts.get("/proc", ([], ""))[1] == "proc", mounts.get("/proc")
    status = Path(f"/proc/{pid}/status").read_text()
    assert re.search(r"^NoNewPrivs:\s+1", status, re.M) and re.search(r"^Seccomp:\s+2", status, re.M), status
    assert re.search(r"^Seccomp_filters:\s+2$", status, re.M), \
        "a ready init holds the base filter and the last one before its run arrives"
    assert trace["run"]["sandbox"]["seccomp"] == {"mode": "filter", "filters": 2}, trace["run"]["sandbox"]


def test_a_run_that_mounts_or_reads_its_own_memory_after_go_gets_an_init_without_the_last_filter(secret_server):
    """The last seccomp filter refuses mounts and process_vm_readv to every process of a run. A ready
    init installs it while it waits, so a run that needs one of them after go — its /tmp resized to a
    file limit other than 16 MiB, a plan that reads its own memory — is handed an init cloned for it
    that installs the filter at go (as the other runs' did before). Were it handed a ready one, the
    remount would fail (EPERM: the run ends in error) and `load_pointer`'s read would be refused."""
    srv, _ = secret_server
    sized = post(srv, {"experiment": "pipe.hello", "store": False, "limits": {"file_bytes": 1 << 20}})
    setup = {o["op"]: o for o in sized["run"]["sandbox"]["setup"]}
    assert sized["run"]["outcome"] == "ok", sized["run"]
    assert setup["size /tmp 1048576"]["result"] == 0 and setup["seccomp filter"]["result"] == 0, setup
    assert sized["run"]["sandbox"]["seccomp"] == {"mode": "filter", "filters": 2}, sized["run"]["sandbox"]
    pointers = post(srv, {"experiment": "shm.pointers", "store": False})
    reads = [e for e in pointers["events"] if e["call"] == "process_vm_readv"]
    assert pointers["run"]["outcome"] == "ok" and reads, pointers["run"]
    assert all(e["errno"] != "EPERM" for e in reads), reads
    # The ready inits kept their filters, and the next plain run takes one.
    plain = post(srv, {"experiment": "pipe.hello", "store": False})
    assert plain["run"]["outcome"] == "ok" and plain["run"]["sandbox"]["seccomp"]["filters"] == 2, plain["run"]


def nice_of(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rfind(")") + 2:].split()[16])


def test_runs_keep_the_servers_priority_across_runner_restarts():
    """Every process of a run, and the runners, have the server's nice value — here 5 — across the
    runners' fresh images (each pause makes every runner that cloned exec again): nothing on the
    sandbox side changes a run's priority, up or down (a runner image started at another priority and
    not put back before its clones fails this). Inits cloned ahead of time wait 10 lower (15), so that
    their clone and set-up yield the cores to runs; each is put back to 5 before its run's go."""
    srv = start_server(wrapper=("nice", "-n", "5"))
    try:
        spawner = spawner_pid(srv)
        assert nice_of(spawner) == 5, "the server did not start at nice 5: the test would prove nothing"
        for _ in range(3):
            name = marker()
            results: dict[str, Any] = {}
            thread = post_in_background(srv, sleeper(name, 200), results, "run")
            pid = wait_for_pid(name)
            assert nice_of(pid) == 5, f"a run's process has nice {nice_of(pid)}, not the server's 5"
            thread.join(10)
            assert results["run"]["run"]["outcome"] == "ok"
            time.sleep(0.3)  # idle: every runner that cloned starts a fresh image
        # Once every runner is warm again, the runners are at 5 and the inits cloned ahead at 15.
        def expected(pid: int) -> int:
            return 15 if Path(f"/proc/{pid}/comm").read_text().strip() == "ipclab-ready" else 5
        deadline = time.monotonic() + 10
        seen: dict[int, tuple[int, int]] = {}
        while time.monotonic() < deadline:
            seen = {}
            for p in runners_and_ready(spawner):
                try:
                    seen[p] = (nice_of(p), expected(p))
                except OSError:
                    continue
            ready = [p for p, (_, want) in seen.items() if want == 15]
            if ready and all(n == want for n, want in seen.values()):
                break
            time.sleep(0.05)
        assert any(want == 15 for _, want in seen.values()), f"no init waiting for a run: {seen}"
        assert all(n == want for n, want in seen.values()), f"runners and ready inits (pid: (nice, expected)): {seen}"
    finally:
        srv.stop(signal.SIGTERM)
