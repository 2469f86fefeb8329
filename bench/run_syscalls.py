#!/usr/bin/env python3
"""One run of `pipe.hello`, system call by system call, from the kernel's own tracepoints.

  python3 bench/run_syscalls.py BINARY [--runs 6] [-- SERVE_ARGS…]

Starts `BINARY serve` (an `ipclab` with its `ipclab-sandbox` beside it), posts 20 warm-up runs, then
`--runs` more one at a time while ftrace (`/sys/kernel/tracing`) records the system calls of the run's
processes (`raw_syscalls`, filtered to their names) and every fork, exit, wakeup and context switch
of the machine. Prints the last whole run: each system call of its init, first process and child with
its result and duration (but `getpid`, one per record), and each wakeup, switch, fork and exit that
involves them, in µs from the init's first system call after its go; then the `clone` durations of all the runs, by process. What
docs/performance.md, "Runs, system call by system call", was read from. Needs root and a tracefs.
Not a test: figures move with the machine's load, and the tracepoints slow every system call a little.
"""
import argparse, http.client, json, os, re, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_per_run import serve, split_serve_args  # noqa: E402

TRACING = "/sys/kernel/tracing"
RUN_NAMES = ("ipclab-init", "parent", "child")
SCHED = ("sched_process_fork", "sched_process_exit", "sched_switch", "sched_waking", "sched_wakeup")
LINE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")


def syscall_names():
    names = {}
    try:
        with open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") as f:
            for m in re.finditer(r"#define __NR_(\w+) (\d+)", f.read()):
                names[int(m.group(2))] = m.group(1)
    except OSError:
        pass
    return names


def put(path, text):
    with open(os.path.join(TRACING, path), "w") as f:
        f.write(text)


def trace_runs(port, runs):
    """Posts `runs` runs one at a time with tracing on; answers the trace's text."""
    body = json.dumps({"experiment": "pipe.hello", "store": False})
    c = http.client.HTTPConnection("127.0.0.1", port)
    put("tracing_on", "0")
    put("trace", "")
    put("events/raw_syscalls/filter", " || ".join(f'comm == "{n}"' for n in RUN_NAMES))
    put("events/raw_syscalls/enable", "1")
    for e in SCHED:
        put(f"events/sched/{e}/enable", "1")
    try:
        put("tracing_on", "1")
        for _ in range(runs):
            c.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
            c.getresponse().read()
            time.sleep(0.02)
    finally:
        put("tracing_on", "0")
        put("events/raw_syscalls/enable", "0")
        put("events/raw_syscalls/filter", "0")
        for e in SCHED:
            put(f"events/sched/{e}/enable", "0")
    with open(os.path.join(TRACING, "trace")) as f:
        return f.read()


def parse(text):
    events = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            comm, pid, cpu, t, kind, rest = m.groups()
            events.append((float(t) * 1e6, comm, int(pid), int(cpu), kind, rest))
    return events


def show_last_run(events, names):
    # A run's init is renamed ipclab-init at its go; its processes are its forks and theirs.
    inits = [pid for _, comm, pid, _, _, _ in events if comm == "ipclab-init"]
    exited = {pid for _, _, pid, _, kind, _ in events if kind == "sched_process_exit"}
    whole = [pid for pid in dict.fromkeys(inits) if pid in exited]
    if not whole:
        sys.exit("no whole run in the trace")
    init = whole[-1]
    mine = {init}
    for _, _, pid, _, kind, rest in events:
        if kind == "sched_process_fork" and pid in mine:
            mine.add(int(re.search(r"child_pid=(\d+)", rest).group(1)))
    # Its first system call after the rename (the trace names a pid by its last name throughout).
    first = next(i for i, e in enumerate(events) if e[2] == init and e[4] in ("sys_enter", "sys_exit"))
    last = max(i for i, e in enumerate(events) if e[2] == init)
    t0 = events[first][0]
    start = {}
    print(f"one run (init pid {init}), µs from its first system call after its go:")
    for t, comm, pid, cpu, kind, rest in events[first:last + 1]:
        if kind == "sys_enter" and pid in mine:
            start[pid] = t
        elif kind == "sys_exit" and pid in mine:
            nr = int(re.search(r"NR (-?\d+)", rest).group(1))
            if names.get(nr) == "getpid":
                continue  # one per record: they would hide the rest
            result = rest.split("= ", 1)[1] if "= " in rest else "?"
            print(f"{t - t0:8.0f} cpu{cpu} {comm:>14}-{pid:<7} {names.get(nr, nr)} = {result} ({t - start.get(pid, t):.0f} µs)")
        elif kind in SCHED and kind != "sched_waking" and (pid in mine or mine & involved(rest)):
            print(f"{t - t0:8.0f} cpu{cpu} {comm:>14}-{pid:<7} {kind}: {rest[:110]}")


def involved(rest):
    """The pids a scheduler event names besides the one it happened in."""
    return {int(p) for p in re.findall(r"pid=(\d+)", rest)}


def clone_durations(events, names):
    clone = {n for n, name in names.items() if name in ("clone", "clone3")}
    start, took = {}, {}
    for t, comm, pid, _, kind, rest in events:
        if kind not in ("sys_enter", "sys_exit"):
            continue
        nr = int(re.search(r"NR (-?\d+)", rest).group(1))
        if nr not in clone:
            continue
        if kind == "sys_enter":
            start[pid] = t
        elif pid in start and not rest.endswith("= 0"):
            took.setdefault(comm, []).append(t - start.pop(pid))
    print("clone, µs (enter → exit in the parent):")
    for comm, v in sorted(took.items()):
        v.sort()
        print(f"  {comm:14} {len(v):4} calls  p50 {v[len(v) // 2]:6.0f}  max {v[-1]:6.0f}")


def main():
    argv, extra = split_serve_args(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=6)
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not os.path.isdir(os.path.join(TRACING, "events/raw_syscalls")):
        sys.exit(f"needs root and {TRACING} with raw_syscalls")
    proc, url = serve(args.binary, tempfile.mkdtemp(prefix="ipclab-syscalls-"), 1_950_000_000, extra)
    try:
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps({"experiment": "pipe.hello", "store": False})
        c = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(20):
            c.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
            c.getresponse().read()
        names = syscall_names()
        events = parse(trace_runs(port, max(1, args.runs)))
        show_last_run(events, names)
        clone_durations(events, names)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
