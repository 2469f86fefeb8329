#!/usr/bin/env python3
"""A lone client's pipe.hello, step by step, next to the bare baseline's same steps.

  python3 bench/run_steps.py [BINARY] [--runs 1500] [-- SERVE_ARGS…]

Posts `pipe.hello` (`"store": false`) one run at a time on one keep-alive connection to a server of
BINARY (default: the release build) and reads each step of the run from its own trace (the kernel's
times as the run's processes recorded them, relative to the run's go); runs `bench/baseline/run_baseline -s`,
whose processes write the same steps' times into a shared page; prints each step's median side by side.
The steps inside the run are the same system calls in both; what is outside it differs: the baseline
clones its namespaces and reaps its init on the path, the service does those ahead and after, and
has HTTP, the hand-offs to the spawner and the init, the trace and the answer instead ("outside the run":
the client's wall time minus the run's duration).

Not a test: the figures move with the machine's load (run it twice). The medians of steps do not add
up to the median of the whole.
"""
import argparse, http.client, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_per_run import ROOT, serve, split_serve_args  # noqa: E402

# The steps of a pipe.hello trace, named as run_baseline -s names the same ones.
INSIDE = [
    "go -> the first process's pipe returned",
    "fork",
    "fork returned -> the child's first step",
    "the child's close and write",
    "write returned -> read returned",
    "read returned -> wait4 returned",
    "wait4 returned -> the run's end",
]


def steps_of(trace):
    """The steps of one pipe.hello trace (µs), from its events' times (ns since the run's go)."""
    ev = {(e["process"], e["call"]): e for e in trace["events"]}
    pipe, fork = ev[("parent", "pipe")], ev[("parent", "fork")]
    close, write = ev[("child", "close")], ev[("child", "write")]
    read, wait = ev[("parent", "read")], ev[("parent", "wait4")]
    end = trace["run"]["duration_ns"]
    values = [pipe["end_ns"], fork["end_ns"] - pipe["end_ns"], close["t_ns"] - fork["end_ns"],
              write["end_ns"] - close["t_ns"], read["end_ns"] - write["end_ns"], wait["end_ns"] - read["end_ns"],
              end - wait["end_ns"]]
    return dict(zip(INSIDE, (v / 1e3 for v in values)))


def ours(binary, runs, extra):
    proc, url = serve(binary, tempfile.mkdtemp(prefix="ipclab-steps-"), 1_950_000_000, extra)
    try:
        host, port = url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        body = json.dumps({"experiment": "pipe.hello", "store": False})
        rows = []
        for i in range(runs + 200):
            t0 = time.perf_counter_ns()
            conn.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            wall = (time.perf_counter_ns() - t0) / 1e3
            if r.status != 200:
                sys.exit(f"a run failed: {r.status} {data[:300]!r}")
            trace = json.loads(data)
            if trace["run"]["outcome"] != "ok":
                sys.exit(f"a run did not end ok: {trace['run'].get('reason')}")
            if i < 200:
                continue  # warm-up
            row = steps_of(trace)
            row["outside the run"] = wall - trace["run"]["duration_ns"] / 1e3
            row["the whole (client's wall time)"] = wall
            rows.append(row)
        return {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    finally:
        proc.terminate()
        proc.wait()


def baseline(runs):
    exe = os.path.join(tempfile.mkdtemp(prefix="ipclab-steps-"), "run_baseline")
    subprocess.run(["gcc", "-O2", "-static", "-o", exe, os.path.join(ROOT, "bench/baseline/run_baseline.c")], check=True)
    out = subprocess.run([exe, "-s", "-n", str(runs)], capture_output=True, text=True, check=True).stdout.splitlines()
    whole, steps = json.loads(out[0]), json.loads(out[1])["steps"]
    steps["outside the run"] = steps["clone, id maps, go"] + steps["the init's exit -> reaped by the caller"]
    steps["the whole (client's wall time)"] = whole["p50_us"]
    return steps


def main():
    argv, extra = split_serve_args(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, ".build/release/ipclab"))
    ap.add_argument("--runs", type=int, default=1500)
    args = ap.parse_args(argv)
    base = baseline(args.runs)
    mine = ours(args.binary, args.runs, extra)
    print(f"{'step (p50, µs)':48s} {'ours':>8s} {'baseline':>9s} {'ours − baseline':>16s}")
    for name in INSIDE + ["outside the run", "the whole (client's wall time)"]:
        print(f"{name:48s} {mine[name]:8.1f} {base[name]:9.1f} {mine[name] - base[name]:+16.1f}")
    reaped = base["the init's exit -> reaped by the caller"]
    print(f"(the baseline's outside: clone, id maps, go {base['clone, id maps, go']:.1f}; "
          f"the init's exit -> reaped by the caller {reaped:.1f})")


if __name__ == "__main__":
    main()
