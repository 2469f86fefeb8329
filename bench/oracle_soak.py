#!/usr/bin/env python3
"""IPC Lab oracle soak (issue 15): every preset, many runs with random valid parameters, and again under
jittered schedules; each run's observations compared with the independent oracle (e2e/oracle.py).

  python3 bench/oracle_soak.py [--binary .build/debug/ipclab] [--runs 200] [--clients 2]
                               [--presets pipe.capacity,mq.full] [--modes plain,jitter] [--seed 15]

Not a test in `make test` (19,600 runs take hours on a shared machine); `make oracle-soak` runs it
(ORACLE_SOAK_FLAGS for options). It starts `ipclab serve --no-store` on a free port. Run i of a preset
draws its parameters (e2e/oracle_params.py, within each parameter's published bounds) from a generator
seeded by (seed, preset, mode, i), so one run is reproduced alone with `--presets P --only-run i`;
in the `jitter` mode the request also carries `"schedule": {"seed", "jitter_us"}` (each process sleeps
a pseudo-random 0…jitter_us µs before each step; the same schedule replays the same delays).

A parameter set the preset refuses (400 naming a `params` field: the bounds are per parameter) is
counted as refused and another is drawn, up to 4 × --runs attempts. It prints, per preset and mode:
runs, refused, outcomes other than ok, and disagreements; then every disagreement with the run's id,
its request body (to replay with POST /api/v1/runs) and what differed. The whole report is written to
--out/oracle-soak-latest.json. Exits 1 when a run disagreed, a trace broke a shared rule, or a
request failed (anything but 200 or a refusal).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import http.client
import json
import os
import random
import sys
import threading
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "e2e"))

from oracle import disagreements  # noqa: E402
from oracle_params import effective, params_for  # noqa: E402
from soak import Server  # noqa: E402  (bench/soak.py: `ipclab serve` on a free port)

JITTER_US = [50, 200, 1000, 3000]


def connect(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=60)


def stop(server: Server) -> None:
    server.proc.terminate()
    server.proc.wait(timeout=30)


def request_body(catalog: dict[str, Any], preset: str, mode: str, seed: int, i: int) -> dict[str, Any]:
    """Attempt i of a preset in a mode: the same (seed, preset, mode, i) always gives the same body."""
    rng = random.Random(f"{seed}:{preset}:{mode}:{i}")
    entry = catalog[preset]
    body: dict[str, Any] = {"experiment": preset, "params": {} if i == 0 else params_for(rng, entry),
                            "limits": {"wall_ms": entry["default_wall_ms"]}}
    if mode == "jitter":
        body["schedule"] = {"seed": rng.randrange(1, 1 << 31), "jitter_us": rng.choice(JITTER_US)}
    return body


def post(conn: http.client.HTTPConnection, server: Server, body: dict[str, Any]) -> tuple[int, Any, http.client.HTTPConnection]:
    """POST /api/v1/runs, retrying a 503 after its Retry-After and a dropped connection (at most 20 times)."""
    data = json.dumps(body)
    for _ in range(20):
        try:
            conn.request("POST", "/api/v1/runs", data, {"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = connect(server)
            time.sleep(1)
            continue
        if r.status == 503:
            time.sleep(int(r.getheader("Retry-After", "1")))
            continue
        try:
            return r.status, json.loads(raw), conn
        except ValueError:
            return r.status, raw[:300].decode(errors="replace"), conn
    return 0, "no answer after 20 attempts", conn


class Tally:
    """What one (preset, mode) saw."""

    def __init__(self) -> None:
        self.runs = 0
        self.refused = 0
        self.outcomes: collections.Counter = collections.Counter()
        self.disagreements: list[dict[str, Any]] = []
        self.failures: list[str] = []

    def as_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "refused": self.refused, "outcomes": dict(self.outcomes),
                "disagreements": self.disagreements, "failures": self.failures}


def soak_one(server: Server, catalog: dict[str, Any], preset: str, mode: str, args: argparse.Namespace,
             tally: Tally, lock: threading.Lock, conn: http.client.HTTPConnection) -> http.client.HTTPConnection:
    attempts = [args.only_run] if args.only_run is not None else range(4 * args.runs)
    for i in attempts:
        with lock:
            if tally.runs >= args.runs:
                break
        body = request_body(catalog, preset, mode, args.seed, i)
        status, answer, conn = post(conn, server, body)
        with lock:
            if status == 400 and isinstance(answer, dict) and str((answer.get("error") or {}).get("path") or "params").startswith("params"):
                tally.refused += 1
                continue
            if status != 200 or not isinstance(answer, dict):
                tally.failures.append(f"attempt {i}: HTTP {status} {str(answer)[:300]} for {json.dumps(body)}")
                continue
            tally.runs += 1
            tally.outcomes[answer["run"]["outcome"]] += 1
            found = disagreements(answer, effective(catalog[preset], body["params"]))
            if found:
                print(f"  DISAGREEMENT {preset} ({mode}) attempt {i} run {answer['run']['id']}: {found[0]}", flush=True)
                tally.disagreements.append({"attempt": i, "run_id": answer["run"]["id"], "outcome": answer["run"]["outcome"],
                                            "request": body, "differences": found})
    return conn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/ipclab"))
    ap.add_argument("--runs", type=int, default=200, help="accepted runs per preset and mode")
    ap.add_argument("--clients", type=int, default=2, help="presets soaked at once")
    ap.add_argument("--presets", default="", help="comma-separated preset ids (default: every preset)")
    ap.add_argument("--modes", default="plain,jitter", help="plain, jitter, or both")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--only-run", type=int, default=None, help="replay attempt i of each chosen preset alone")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    args = ap.parse_args()

    server = Server(args.binary, ["--no-store"])
    catalog = {e["id"]: e for e in server.get_json("/api/v1/experiments")["experiments"]}
    chosen = [p for p in args.presets.split(",") if p] or sorted(catalog)
    unknown = [p for p in chosen if p not in catalog]
    if unknown:
        stop(server)
        raise SystemExit(f"no such preset: {', '.join(unknown)}")
    modes = [m for m in args.modes.split(",") if m]
    jobs = collections.deque((p, m) for p in chosen for m in modes)
    tallies = {(p, m): Tally() for p, m in jobs}
    lock = threading.Lock()
    began = time.monotonic()

    def worker() -> None:
        c = connect(server)
        while True:
            with lock:
                if not jobs:
                    break
                preset, mode = jobs.popleft()
            started = time.monotonic()
            c = soak_one(server, catalog, preset, mode, args, tallies[(preset, mode)], lock, c)
            t = tallies[(preset, mode)]
            with lock:
                print(f"  {preset:24} {mode:6} {t.runs:4} runs {t.refused:4} refused {len(t.disagreements):3} disagreements "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop(server)
    seconds = time.monotonic() - began

    print(f"\noracle soak: {len(chosen)} presets × {modes}, {args.runs} runs each, seed {args.seed}, "
          f"{args.clients} clients, {seconds:.0f} s")
    print(f"{'preset':24} {'mode':6} {'runs':>5} {'refused':>8} {'disagree':>9}  outcomes")
    for (p, m), t in sorted(tallies.items()):
        print(f"{p:24} {m:6} {t.runs:5} {t.refused:8} {len(t.disagreements):9}  "
              + ", ".join(f"{o} {n}" for o, n in sorted(t.outcomes.items())))
    bad = 0
    for (p, m), t in sorted(tallies.items()):
        for d in t.disagreements:
            bad += 1
            print(f"\nDISAGREEMENT {p} ({m}) attempt {d['attempt']} run {d['run_id']} outcome {d['outcome']}")
            print(f"  replay: python3 bench/oracle_soak.py --presets {p} --modes {m} --seed {args.seed} --only-run {d['attempt']}")
            print(f"  request: {json.dumps(d['request'])}")
            for line in d["differences"]:
                print(f"  - {line}")
        for f in t.failures:
            bad += 1
            print(f"\nFAILED {p} ({m}): {f}")
        if t.runs < args.runs and args.only_run is None:
            print(f"\nSHORT {p} ({m}): only {t.runs} runs accepted in {4 * args.runs} attempts ({t.refused} refused)")
    os.makedirs(args.out, exist_ok=True)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "seed": args.seed, "runs": args.runs, "modes": modes, "clients": args.clients, "seconds": round(seconds),
              "presets": {f"{p} {m}": t.as_json() for (p, m), t in sorted(tallies.items())}}
    with open(os.path.join(args.out, "oracle-soak-latest.json"), "w") as f:
        json.dump(report, f, indent=1)
    total = sum(t.runs for t in tallies.values())
    print(f"\n{total} runs, {sum(len(t.disagreements) for t in tallies.values())} disagreements, "
          f"{sum(len(t.failures) for t in tallies.values())} failed requests")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
