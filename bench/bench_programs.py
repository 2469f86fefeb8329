"""The C-program row of `make bench` (issue 19): compile + run of a two-process pipe program through
POST /api/v1/runs, p50, next to the same gcc + run done bare on the host (no sandbox, no tracer) in the
same bench run."""

import http.client
import json
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPE = os.path.join(ROOT, "e2e/programs/pipe.c")


def bare_p50_ms(runs):
    """gcc (the same flags as the sandbox's) then the program, on the host: the floor of what a run costs."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "pipe")
        for _ in range(runs):
            start = time.monotonic()
            subprocess.run(["gcc", "-std=gnu17", "-O0", "-g0", "-pipe", "-fdiagnostics-format=json", "-o", exe, PIPE,
                            "-lrt", "-lpthread"], check=True, capture_output=True)
            subprocess.run([exe], check=True, capture_output=True)
            times.append((time.monotonic() - start) * 1000)
    return statistics.median(times)


def ours_p50_ms(url, runs):
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = json.dumps({"programs": [{"name": "parent", "language": "c", "source": open(PIPE).read()}],
                       "store": False}).encode()
    times, bad = [], 0
    for _ in range(runs):
        start = time.monotonic()
        conn.request("POST", "/api/v1/runs", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        times.append((time.monotonic() - start) * 1000)
        if r.status != 200 or json.loads(data)["run"]["outcome"] != "ok":
            bad += 1
    conn.close()
    return statistics.median(times), bad


def program_rows(url, runs=30):
    """The rows, and what they were made of (for results.json)."""
    ours, bad = ours_p50_ms(url, runs)
    bare = bare_p50_ms(max(5, runs // 3))
    rows = [
        ("C program compile+run p50 (ms), 2-process pipe", ours, bare, "≤ 300 ms", ours <= 300),
        ("C program runs that were not ok", bad, None, "0", bad == 0),
    ]
    return rows, {"ours_p50_ms": ours, "bare_p50_ms": bare, "runs": runs, "bad": bad}
