"""The rows of bench.py for what the lab measures (issue 6, part 2): bench.throughput's pipe against a
bare C write/read loop with the same chunk size (bench/baseline/pipe_throughput.c, built here), the
shared-memory ring against the pipe, and bench.latency's figures (informative: no baseline).

Runs go through the running server's API like any client's. Each comparison is repeated and the
median kept, baseline and lab runs alternating, because the machine may be busy.
"""
import json, os, statistics, subprocess, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOTAL = 256 << 20
CHUNK = 64 << 10


def build_pipe_baseline(out_dir):
    exe = os.path.join(out_dir, "pipe_throughput")
    subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(ROOT, "bench/baseline/pipe_throughput.c")],
                   check=True, capture_output=True, text=True)
    return exe


def post_run(url, body):
    req = urllib.request.Request(f"{url}/api/v1/runs", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        trace = json.load(r)
    if trace["run"]["outcome"] != "ok":
        raise SystemExit(f"bench: {body['experiment']} ended {trace['run']['outcome']}: {trace['run']['reason']}")
    return trace


def phases(trace, call):
    return {e["args"]["mechanism"]: e["args"] for e in trace["events"] if e["call"] == call}


def gibps(a):
    return a["bytes"] / a["elapsed_ns"] * 1e9 / 2**30


def measurement_rows(url, tmp, repeats=5):
    """(rows, results): rows as bench.py prints them (metric, ours, baseline, target, met or None)."""
    exe = build_pipe_baseline(tmp)
    body = {"experiment": "bench.throughput", "params": {"mechanisms": ["pipe", "shm_ring"], "total_bytes": TOTAL, "chunk_bytes": CHUNK}}
    base, pipe, ring = [], [], []
    for _ in range(repeats):
        out = subprocess.run([exe, "-b", str(TOTAL), "-c", str(CHUNK)], check=True, capture_output=True, text=True).stdout
        base.append(json.loads(out)["gibps"])
        p = phases(post_run(url, body), "bench_throughput")
        pipe.append(gibps(p["pipe"]))
        ring.append(gibps(p["shm_ring"]))
    b, o, r = statistics.median(base), statistics.median(pipe), statistics.median(ring)
    rows = [
        (f"pipe GiB/s, {TOTAL >> 20} MiB in {CHUNK >> 10} KiB writes (median of {repeats})", o, b,
         "≥ 0.9× bare write/read loop", o >= 0.9 * b),
        ("shm_ring GiB/s vs the lab's pipe, same runs", r, o, "≥ 2× pipe", r >= 2 * o),
    ]
    results = {"throughput_runs": {"baseline_pipe_gibps": base, "pipe_gibps": pipe, "shm_ring_gibps": ring}}

    full = post_run(url, {"experiment": "bench.throughput"})
    tp = phases(full, "bench_throughput")
    for m, a in tp.items():
        rows.append((f"bench.throughput defaults: {m} GiB/s (cpu {a['cpu']}/{a['peer_cpu']})", gibps(a), None, "informative", None))
    lat = post_run(url, {"experiment": "bench.latency"})
    lp = phases(lat, "bench_latency")
    for m, a in lp.items():
        rows.append((f"bench.latency defaults: {m} p50 / p99 µs (cpu {a['cpu']}/{a['peer_cpu']})",
                     f"{a['p50_ns'] / 1000:.1f} / {a['p99_ns'] / 1000:.1f}", None, "informative", None))
    results["defaults"] = {
        "throughput": {"duration_ms": full["run"]["duration_ns"] / 1e6, "phases": tp,
                       "observations": {o["id"]: o["holds"] for o in full["observations"]}},
        "latency": {"duration_ms": lat["run"]["duration_ns"] / 1e6, "phases": lp,
                    "observations": {o["id"]: o["holds"] for o in lat["observations"]}},
    }
    rows.append(("bench.throughput / bench.latency default run (ms)",
                 f"{full['run']['duration_ns'] / 1e6:.0f} / {lat['run']['duration_ns'] / 1e6:.0f}", None,
                 "informative (wall limit 9000 ms each)", None))
    return rows, results
