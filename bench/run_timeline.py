#!/usr/bin/env python3
"""Where one run's wall time goes: a stage timeline of `pipe.hello` runs posted one at a time.

  python3 bench/run_timeline.py BINARY [--runs 150] [--gap-ms 20] [--store] [--uid-base N] [--slow-us N] [-- SERVE_ARGS…]

Starts `BINARY serve` (an `ipclab` with its `ipclab-sandbox` beside it), posts 20 warm-up runs, then
`--runs` more on one keep-alive connection (`--gap-ms` apart; 0: back to back) while `perf sched record
-a` records every context switch, wakeup and fork of the machine. Each run is then followed through
the server's own process tree, from the scheduler's events alone (no syscall tracepoints: those slowed
every process of the machine by several times here): the client wakes the server's HTTP thread → it
wakes a run thread (unless it runs it itself: README, "Runs answered where they arrive") → that wakes the spawner → the spawner wakes the ready init ("go") → the init forks
the first participant → that forks the second → the child exits → the parent exits → the init says it
finished (one write that wakes the spawner and the server's thread at once; a run read at its end: the
spawner's end marker wakes the server) → the server builds the trace and answers (a run thread wakes the
HTTP thread first) → the client is woken. Prints p25/p50/p90 of each stage (µs); the CPU time each process took inside a run's
window (go → response), this server's and the others'; where each new process started (on its
parent's CPU or the other) and how long it waited there; and which process held the CPU while one on
the run's path waited runnable. Needs root and perf. Not a test: figures move with the machine's load.
"""
import argparse, bisect, collections, http.client, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_per_run import serve, split_serve_args  # noqa: E402

LINE = re.compile(r'^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$')


def post(port, runs, gap_s, store):
    body = json.dumps({"experiment": "pipe.hello", "store": store})
    c = http.client.HTTPConnection("127.0.0.1", port)
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        c.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        walls.append((time.perf_counter_ns() - t0) / 1e3)
        if gap_s:
            time.sleep(gap_s)
    return walls


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


class Events:
    def __init__(self, text, mine):
        self.ev = []
        for line in text.splitlines():
            m = LINE.match(line)
            if not m:
                continue
            comm, tid, cpu, t, name, rest = m.groups()
            kv = dict(re.findall(r'(\w+)=(\S+)', rest))
            if name == "sched_process_fork" and int(tid) in mine:
                mine.add(int(kv["child_pid"]))
            self.ev.append((float(t) * 1e6, int(tid), comm, int(cpu), name, kv))
        self.times = [e[0] for e in self.ev]

    def after(self, t, pred, limit=60000):
        i = bisect.bisect_left(self.times, t)
        return next((e for e in self.ev[i:i + limit] if pred(e)), None)

    def before(self, t, pred, limit=60000):
        i = bisect.bisect_left(self.times, t)
        return next((e for e in reversed(self.ev[max(0, i - limit):i]) if pred(e)), None)


def wakes(e, target=None, comm=None):
    return e[4] == "sched_waking" and (target is None or int(e[5].get("pid", 0)) in target) \
        and (comm is None or e[5].get("comm", "").startswith(comm))


def switches_in(e, pid):
    return e[4] == "sched_switch" and int(e[5]["next_pid"]) == pid


def exits(e, pid):
    return e[4] == "sched_switch" and int(e[5]["prev_pid"]) == pid and e[5]["prev_state"] in ("X", "Z")


def walk(p, t, steps):
    """Finds each step's event after the one before (from `t`), its time into `p` by name; the last event, or None."""
    e = None
    for name, find in steps:
        e = find(t)
        if not e:
            return None
        p[name], t = e[0], e[0]
    return e


def follow(E, server, spawner):
    """Each run's stage times (µs, absolute), from the first fork of each run init."""
    rows = []
    inits = collections.OrderedDict()
    for e in E.ev:
        if e[4] == "sched_process_fork" and e[2] == "ipclab-init" and e[1] in follow.mine and e[1] not in inits:
            inits[e[1]] = (e[0], int(e[5]["child_pid"]))
    for init, (fork1, parent) in inits.items():
        go = E.before(fork1, lambda e: e[1] == spawner and wakes(e, {init}), 20000)
        req = E.before(fork1, lambda e: e[2].startswith("python") and wakes(e, server), 40000)
        if not go or not req:
            continue
        p = {"request": req[0]}
        http_tid = int(req[5]["pid"])
        handed = E.after(req[0], lambda e: e[1] in server and wakes(e, comm="ipclab-run"))
        sent = E.after(req[0], lambda e: e[1] in server and wakes(e, {spawner}))
        if not sent:
            continue
        if sent[1] == http_tid and (not handed or handed[0] > sent[0]):
            # Answered on the HTTP thread (README, "Runs answered where they arrive"): no run thread.
            run_tid = http_tid
            e = walk(p, req[0], [("HTTP thread on CPU", lambda t: E.after(t, lambda e: switches_in(e, http_tid)))])
        else:
            if not handed:
                continue
            run_tid = int(handed[5]["pid"])
            p["run thread woken"] = handed[0]
            e = walk(p, handed[0], [("run thread on CPU", lambda t: E.after(t, lambda e: switches_in(e, run_tid)))])
        if not e:
            continue
        e = walk(p, e[0], [
            ("spawner woken", lambda t: E.after(t, lambda e: e[1] == run_tid and wakes(e, {spawner}))),
            # When the spawner gets a CPU after that wakeup (a halted vCPU woken, or the CPU's current task
            # preempted), then its go.
            ("spawner on CPU", lambda t: E.after(t, lambda e: switches_in(e, spawner))),
            ("init woken (go)", lambda t: go if go[0] >= t else None),
            ("init on CPU", lambda t: E.after(t, lambda e: switches_in(e, init))),
            ("first process forked", lambda t: E.after(t, lambda e: e[4] == "sched_process_fork" and e[1] == init)),
            ("first process on CPU", lambda t: E.after(t, lambda e: switches_in(e, parent))),
            ("second process forked", lambda t: E.after(t, lambda e: e[4] == "sched_process_fork" and e[1] == parent)),
        ])
        if not e:
            continue
        child = int(e[5]["child_pid"])
        e = walk(p, e[0], [
            ("second process on CPU", lambda t: E.after(t, lambda e: switches_in(e, child))),
            ("second process exited", lambda t: E.after(t, lambda e: exits(e, child))),
            ("first process exited", lambda t: E.after(t, lambda e: exits(e, parent))),
            # The init's finish: one write to an eventfd that the spawner and the server's thread both wait on
            # (README, "The trace is read at the init's finish"), so it wakes both at once.
            ("init says it finished", lambda t: E.after(t, lambda e: e[1] == init and wakes(e, {spawner} | server))),
        ])
        if not e:
            continue
        t = e[0]
        # The server's thread, woken by that write; a run whose trace is read at its end (README, "Runners")
        # by the spawner's end marker instead.
        woke = E.after(t - 0.5, lambda x: x[1] == init and wakes(x, server), 20) \
            or E.after(t, lambda x: x[1] == spawner and wakes(x, server))
        if not woke:
            continue
        woken = int(woke[5]["pid"])
        p["server thread woken"] = woke[0]
        on = E.after(woke[0], lambda x: switches_in(x, woken))
        if not on:
            continue
        if woken == http_tid:
            # The HTTP thread builds the trace and sends it itself.
            resp = E.after(on[0], lambda x: x[1] == http_tid and wakes(x, comm="python"))
            if not resp or resp[0] - req[0] > 100000:
                continue
            p.update({"HTTP thread on CPU again": on[0], "client woken (response sent)": resp[0]})
            p["_pids"] = (init, parent, child)
            rows.append(p)
            continue
        h = E.after(on[0], lambda x: x[1] == woken and wakes(x, server))
        hon = h and E.after(h[0], lambda x: switches_in(x, int(h[5]["pid"])))
        resp = hon and E.after(hon[0], lambda x: x[1] in server and wakes(x, comm="python"))
        if not resp or resp[0] - req[0] > 100000:
            continue
        p.update({"run thread on CPU again": on[0], "HTTP thread woken (trace built)": h[0],
                  "HTTP thread on CPU": hon[0], "client woken (response sent)": resp[0]})
        p["_pids"] = (init, parent, child)
        rows.append(p)
    return rows


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


def report(E, rows, mine, slow_us=0):
    keys = [k for k in rows[0] if not k.startswith("_")]
    # Runs answered on the HTTP thread and runs handed to a run thread have different stages: the first run's kind.
    rows = [r for r in rows if [k for k in r if not k.startswith("_")] == keys]
    print(f"{len(rows)} runs followed; stage (µs from the one before)      p25     p50     p90")
    medians = {}
    for a, b in zip(keys, keys[1:]):
        d = [r[b] - r[a] for r in rows]
        medians[b] = pct(d, .5)
        print(f"  {b:42s} {pct(d, .25):7.0f} {pct(d, .5):7.0f} {pct(d, .9):7.0f}")
    d = [r[keys[-1]] - r[keys[0]] for r in rows]
    print(f"  {'total':42s} {pct(d, .25):7.0f} {pct(d, .5):7.0f} {pct(d, .9):7.0f}")
    if slow_us:
        # The slow runs one by one (their place in the sequence shows any period): the stages that took
        # over 200 µs more than their median.
        for i, r in enumerate(rows):
            total = r[keys[-1]] - r[keys[0]]
            if total < slow_us:
                continue
            over = [(b, r[b] - r[a] - medians[b]) for a, b in zip(keys, keys[1:]) if r[b] - r[a] - medians[b] > 200]
            print(f"  slow run #{i}: {total:7.0f} µs; " + "; ".join(f"{b} +{x:.0f}" for b, x in over))

    cpu = collections.Counter()
    for r in rows:
        i = bisect.bisect_left(E.times, r["init woken (go)"])
        for e in E.ev[i:]:
            if e[0] > r["client woken (response sent)"]:
                break
            if e[4] == "sched_stat_runtime":
                pid = int(e[5]["pid"])
                cpu[("this server: " if pid in mine else "other: ") + e[5]["comm"]] += int(e[5]["runtime"]) / 1e3
    print("CPU µs per run inside go → response, by process name (top 15):")
    for k, v in cpu.most_common(15):
        print(f"  {k:40s} {v / len(rows):8.1f}")

    placed = collections.defaultdict(list)
    for r in rows:
        for fork_key, on_key in (("first process forked", "first process on CPU"), ("second process forked", "second process on CPU")):
            fork = E.after(r[fork_key] - 0.5, lambda e: e[4] == "sched_process_fork")
            on = E.after(r[on_key] - 0.5, lambda e: e[4] == "sched_switch")
            if fork and on:
                placed[(fork_key.split()[0], "its parent's CPU" if fork[3] == on[3] else "the other CPU")].append(r[on_key] - r[fork_key])
    print("where a new process started, and its wait to run (µs):")
    for (which, where), waits in sorted(placed.items()):
        print(f"  {which:6s} process on {where:17s} {len(waits):4d} runs  p50 {pct(waits, .5):6.0f}  p90 {pct(waits, .9):6.0f}")

    held, waited = collections.Counter(), collections.Counter()
    pairs = [("init woken (go)", "init on CPU"), ("first process forked", "first process on CPU"),
             ("second process forked", "second process on CPU"),
             ("server thread woken", "run thread on CPU again"), ("HTTP thread woken (trace built)", "HTTP thread on CPU"),
             ("server thread woken", "HTTP thread on CPU again")]
    for r in rows:
        for a, b in pairs:
            if a not in r or b not in r or r[b] - r[a] < 20:
                continue
            e = E.after(r[b] - 0.5, lambda e: e[4] == "sched_switch")
            if e:
                tag = ("this server: " if int(e[5]["prev_pid"]) in mine else "other: ") + e[5]["prev_comm"]
                held[tag] += 1
                waited[tag] += r[b] - r[a]
    print("who ran before a process on the run's path that had waited runnable ≥ 20 µs (times, µs waited per run):")
    for k, n in held.most_common(12):
        print(f"  {k:40s} {n:5d} {waited[k] / len(rows):8.1f}")


def main():
    argv, extra = split_serve_args(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=150)
    ap.add_argument("--gap-ms", type=float, default=20)
    ap.add_argument("--store", action="store_true", help="stored runs (default: \"store\": false)")
    ap.add_argument("--uid-base", type=int, default=2_060_000_000)
    ap.add_argument("--slow-us", type=int, default=0, help="also list each run slower than this, with the stages that made it slow")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = serve(args.binary, data_dir, args.uid_base, extra)
        port = int(url.rsplit(":", 1)[1])
        try:
            post(port, 20, args.gap_ms / 1000, args.store)
            server = set(int(t) for t in os.listdir(f"/proc/{proc.pid}/task"))
            # With `--run-image c` (the default) the server has two spawners: pipe.hello goes to the C runners' one.
            spawners = children(proc.pid)
            def runs_c(pid):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    return b"--runner-executable" in f.read()
            wants_c = "c" in extra[extra.index("--run-image") + 1:][:1] if "--run-image" in extra else True
            spawner = next((p for p in spawners if runs_c(p) == wants_c), spawners[0])
            follow.mine = set(server) | {spawner} | set(children(spawner))
            data = os.path.join(data_dir, "sched.data")
            rec = subprocess.Popen(["perf", "sched", "record", "-a", "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            walls = post(port, args.runs, args.gap_ms / 1000, args.store)
            rec.send_signal(2)
            rec.wait()
            text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,cpu,time,event,trace"],
                                  capture_output=True, text=True).stdout
        finally:
            proc.terminate()
            proc.wait()
    print(f"client wall µs: p50 {pct(walls, .5):.0f}  p90 {pct(walls, .9):.0f}  (under perf sched record)")
    E = Events(text, follow.mine)
    rows = follow(E, server, spawner)
    if not rows:
        sys.exit("no run could be followed")
    report(E, rows, follow.mine, args.slow_us)


if __name__ == "__main__":
    main()
