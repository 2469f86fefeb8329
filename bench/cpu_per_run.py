#!/usr/bin/env python3
"""CPU per run, A against B: what a change to the run path saves, measured on this machine's noise.

  python3 bench/cpu_per_run.py BINARY_A [BINARY_B …] [--rounds 3] [--seconds 6] [--clients 8] [--one-address]
                               [--body '{"experiment":"pipe.hello"}'] [-- SERVE_ARGS…]

A BINARY may carry serve arguments of its own after commas, to compare one build two ways:
  python3 bench/cpu_per_run.py .build/release/ipclab,--run-image,swift .build/release/ipclab,--run-image,c

Each binary (an `ipclab`, with its `ipclab-sandbox` beside it) serves in turn, rounds interleaved
(A B A B …) so that the machine's load falls on each alike. Per round: a 2-s warm-up, then wrk with
`--clients` keep-alive connections for `--seconds` (each connection a client of its own, by API key, as
`make bench`'s 8-client row; `--one-address`: all one client, as wrk's address); the machine's busy CPU time (all of /proc/stat but
idle and iowait) over the same window divided by the runs answered. That counts every process of a
run, the spawner, the runners and the server: what a run costs the machine, not one process's share.
"tree" is the CPU of the server's own process tree alone (from /proc, every run process included):
on a machine others load too, the figure to compare. "server" is the server process's own CPU (all its
threads; not the spawners, runners or run processes): what a change to the server's run path saves.
Prints a line per round and the medians. Not a test: the numbers are for reading, next to each other.
"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def busy_jiffies():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def tree_ticks(root, own=False):
    """CPU clock ticks of the server's own process tree: utime+stime+cutime+cstime of every live process
    under `root` (the spawner, runners and ready inits; what they reaped, every run process, in c*time)."""
    children, stats, stats_own = {}, {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = sum(int(x) for x in fields[11:15])
        stats_own[int(entry)] = sum(int(x) for x in fields[11:13])
    total, todo = 0, [root]
    if own:
        return stats_own.get(root, 0)
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo += children.get(pid, [])
    return total


def split_serve_args(argv):
    """This script's arguments, and those after `--` (passed on to `ipclab serve`)."""
    if "--" not in argv:
        return argv, []
    return argv[:argv.index("--")], argv[argv.index("--") + 1:]


def serve(binary, data_dir, uid_base, extra):
    cmd = [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--public", os.path.join(ROOT, "public"),
           "--log-level", "warning", "--data-dir", data_dir, "--run-uid-base", str(uid_base), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"listening on (http://[\d.]+:\d+)", proc.stdout.readline())
    if not m:
        proc.kill()
        sys.exit(f"{binary} did not start")
    return proc, m.group(1)


# As `make bench` does: with more than one client, wrk thread N sends the API key KEY_PREFIX + N, one
# connection each, and the server knows the keys, so each is a client of its own (all of wrk shares one
# address). `--one-address` posts as one client instead (its fair share: --max-runs minus one at once).
KEY_PREFIX = "ipclab-bench-client-"


def api_keys(directory, clients):
    path = os.path.join(directory, "api-keys")
    with open(path, "w") as f:
        f.writelines(f"client-{n} {KEY_PREFIX}{n}\n" for n in range(1, clients + 1))
    return path


def wrk(url, clients, seconds, body, keys=False):
    threads = clients if keys else (2 if clients > 1 else 1)
    env = {**os.environ, "IPCLAB_BENCH_BODY": body, **({"IPCLAB_BENCH_KEY_PREFIX": KEY_PREFIX} if keys else {})}
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency",
                          "-s", os.path.join(ROOT, "bench/post_run.lua"), url + "/api/v1/runs"],
                         env=env, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    lat = re.search(r"IPCLAB_LAT p50=(\d+) p99=(\d+)", out)
    bad = int(re.search(r"IPCLAB_BAD (\d+)", out).group(1))
    return requests, int(lat.group(1)) / 1000, int(lat.group(2)) / 1000, bad


def main():
    argv, extra = split_serve_args(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--one-address", action="store_true",
                    help="post as one client (wrk's address) instead of one API key per connection")
    ap.add_argument("--body", default='{"experiment":"pipe.hello"}',
                    help='the run posted (default: pipe.hello, stored, as make bench posts it)')
    ap.add_argument("--uid-base", type=int, default=2_050_000_000,
                    help="first host uid of the servers' runs (distinct from any other server on the host)")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("needs wrk (apt-get install wrk)")
    hz = os.sysconf("SC_CLK_TCK")
    results = {b: [] for b in args.binaries}
    for r in range(args.rounds):
        for i, binary in enumerate(args.binaries):
            with tempfile.TemporaryDirectory() as data_dir:
                path, *own = binary.split(",")
                keys = args.clients > 1 and not args.one_address
                keyed = ["--api-keys", api_keys(data_dir, args.clients)] if keys else []
                proc, url = serve(path, data_dir, args.uid_base + i * 1_000_000, own + extra + keyed)
                try:
                    wrk(url, args.clients, 2, args.body, keys)
                    j0, k0, s0, t0 = busy_jiffies(), tree_ticks(proc.pid), tree_ticks(proc.pid, own=True), time.monotonic()
                    n, p50, p99, bad = wrk(url, args.clients, args.seconds, args.body, keys)
                    j1, t1 = busy_jiffies(), time.monotonic()
                    time.sleep(0.3)  # the last runs' processes reaped
                    k1, s1 = tree_ticks(proc.pid), tree_ticks(proc.pid, own=True)
                finally:
                    proc.terminate()
                    proc.wait()
            cpu_ms = (j1 - j0) / hz * 1000 / max(1, n)
            tree_ms = (k1 - k0) / hz * 1000 / max(1, n)
            server_ms = (s1 - s0) / hz * 1000 / max(1, n)
            results[binary].append((n / (t1 - t0), cpu_ms, p50, p99, tree_ms, server_ms, bad))
            print(f"round {r + 1} {binary}: {n / (t1 - t0):7.1f} runs/s  {cpu_ms:5.2f} ms CPU/run  "
                  f"p50 {p50:5.2f} ms  p99 {p99:6.2f} ms  tree {tree_ms:5.2f} ms/run  server {server_ms:5.3f} ms/run  bad {bad}", flush=True)
    print("medians:")
    for binary, rows in results.items():
        med = [statistics.median(x) for x in zip(*rows)]
        print(f"  {binary}: {med[0]:7.1f} runs/s  {med[1]:5.2f} ms CPU/run  p50 {med[2]:5.2f} ms  p99 {med[3]:6.2f} ms  "
              f"tree {med[4]:5.2f} ms/run  server {med[5]:5.3f} ms/run  bad {sum(x[6] for x in rows)}")


if __name__ == "__main__":
    main()
