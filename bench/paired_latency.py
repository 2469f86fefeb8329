#!/usr/bin/env python3
"""Paired latency of two builds: which one answers a run faster, with the VM's drift taken out.

  python3 bench/paired_latency.py A/ipclab B/ipclab [--runs 3000] [--body JSON] [--health]
                                  [--new-connections] [-- SERVE_ARGS…]

Starts both servers (as `bench/cpu_per_run.py` does), then posts runs one at a time on one keep-alive
connection to each, alternating A,B then B,A, so each pair runs within a few milliseconds of each
other. Prints p25/p50/p90 of each and the median of the per-pair differences (B − A, µs). On this
project's VM the 1-client p50 drifts by ±15 % from one minute to the next (`bench/cpu_per_run.py
--clients 1` rounds of 4 s), which hides a change of ~30 µs; paired, it shows within a few µs from run
to run. Each server idles while the other answers (a client with think time, not `wrk`'s back-to-back
posting). `--health` times `GET /healthz` instead of a run; `--new-connections` opens a connection per
request (`Connection: close`), as a script without keep-alive does, instead of one kept alive. Not a
test: figures move with the machine's load.
"""
import argparse, http.client, json, os, statistics, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_per_run import serve, split_serve_args  # noqa: E402


def main():
    argv, extra = split_serve_args(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--runs", type=int, default=3000, help="pairs measured (after 200 to warm up)")
    ap.add_argument("--body", default=json.dumps({"experiment": "pipe.hello", "store": False}))
    ap.add_argument("--health", action="store_true", help="time GET /healthz instead of a run")
    ap.add_argument("--new-connections", action="store_true", help="a new connection per request")
    args = ap.parse_args(argv)
    procs, conns = [], []
    try:
        for i, binary in enumerate((args.a, args.b)):
            proc, url = serve(binary, tempfile.mkdtemp(prefix="ipclab-paired-"), 1_900_000_000 + i * 100_000, extra)
            procs.append(proc)
            host, port = url.split("//")[1].split(":")
            conns.append(http.client.HTTPConnection(host, int(port)))

        def one(conn):
            t0 = time.perf_counter_ns()
            if args.new_connections:
                conn = http.client.HTTPConnection(conn.host, conn.port)
            headers = {"Connection": "close"} if args.new_connections else {}
            if args.health:
                conn.request("GET", "/healthz", headers=headers)
            else:
                conn.request("POST", "/api/v1/runs", args.body, {"Content-Type": "application/json", **headers})
            r = conn.getresponse()
            data = r.read()
            if args.new_connections:
                conn.close()
            if r.status != 200 or (not args.health and b'"outcome":"ok"' not in data):
                sys.exit(f"a request failed: {r.status} {data[:300]!r}")
            return (time.perf_counter_ns() - t0) / 1e3

        for _ in range(200):
            one(conns[0])
            one(conns[1])
        a, b = [], []
        for i in range(args.runs):
            first, second = (0, 1) if i % 2 else (1, 0)
            t = {first: one(conns[first]), second: one(conns[second])}
            a.append(t[0])
            b.append(t[1])

        def q(v, f):
            return sorted(v)[int(len(v) * f)]
        for name, v in (("A " + args.a, a), ("B " + args.b, b)):
            print(f"{name}: p25 {q(v, .25):7.0f}  p50 {q(v, .5):7.0f}  p90 {q(v, .9):7.0f} µs")
        print(f"B − A, paired: median {statistics.median(y - x for x, y in zip(a, b)):+.0f} µs; p50 ratio {q(b, .5) / q(a, .5):.3f}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
