"""Issue 15: the server's observations against an independent oracle (oracle.py), for every preset,
with random valid parameters drawn from each parameter's published bounds (GET /api/v1/experiments).

The suite runs a small seeded sample (ORACLE_RUNS per preset, default 2; ORACLE_SEED, default 15);
`ORACLE_RUNS=200 ORACLE_PRESETS=pipe.capacity,mq.full pytest e2e/test_oracle.py` runs the long one.
Durations are drawn from the low end of their bounds (at most CAP_MS) and the measurements' sizes from
theirs, so the sample stays quick on a shared machine; every value is still within the published bounds.
"""

from __future__ import annotations

import os
import random
import re
import string
from typing import Any

import pytest

from oracle import RULES, disagreements
from traces import check_trace

RUNS = int(os.environ.get("ORACLE_RUNS", "2"))
SEED = int(os.environ.get("ORACLE_SEED", "15"))
ONLY = [p for p in os.environ.get("ORACLE_PRESETS", "").split(",") if p]
CAP_MS = 150
SIGNALS = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP", "SIGALRM", "SIGQUIT", "SIGRTMIN", "SIGRTMAX"]
# Upper ends kept low to keep a run short (still inside each parameter's published bounds).
CAPS = {"increments": 20_000, "total_bytes": 1 << 20, "round_trips": 200, "count": 64, "items": 16, "rounds": 8,
        "processes": 4, "size": 65_536, "sndbuf": 65_536}


def draw(rng: random.Random, p: dict[str, Any]) -> Any:
    """A value within the parameter's published bounds, or the default."""
    kind, lo, hi = p["type"], p.get("minimum"), p.get("maximum")
    if rng.random() < 0.25:
        return p["default"]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        lo = lo if lo is not None else 0
        hi = hi if hi is not None else lo + 1000
        cap = CAP_MS if p["name"].endswith("_ms") else CAPS.get(p["name"])
        if cap is not None:
            hi = max(lo, min(hi, cap))
        # Small values are where the edge cases are (a chunk of 1000 against 4096-byte pages, 1 message).
        return rng.randint(lo, hi) if rng.random() < 0.5 else rng.randint(lo, min(hi, lo + 4100))
    if kind == "string":
        if p.get("choices"):
            return rng.choice(p["choices"])
        listed = re.search(r"One of: ([^.]+)\.", p.get("description", ""))
        if listed:
            return rng.choice([w.strip() for w in listed.group(1).split(",")])
        if isinstance(p["default"], str) and p["default"].startswith("SIG"):
            return rng.choice(SIGNALS + [p["default"]])
        if p["default"] is not None and rng.random() < 0.5:
            return p["default"]
        n = rng.randint(1, max(1, min(p.get("max_length") or 16, 16)))
        return "".join(rng.choice(string.ascii_letters) for _ in range(n))
    if kind == "integer_array":
        n = rng.randint(p.get("min_items") or 1, min(p.get("max_items") or 8, 20))
        lo, hi = lo if lo is not None else 0, hi if hi is not None else 100
        top = hi if rng.random() < 0.3 else min(hi, max(lo, 4096))
        return [rng.randint(lo, top) for _ in range(n)]
    if kind == "string_array":
        choices = p.get("choices") or [p["default"][0]] if p.get("default") else ["x"]
        n = rng.randint(p.get("min_items") or 1, min(p.get("max_items") or len(choices), len(choices)))
        return rng.sample(choices, n)
    return p["default"]


def params_for(rng: random.Random, entry: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for p in entry["parameters"]:
        v = draw(rng, p)
        if v is not None:
            out[p["name"]] = v
    return out


def effective(entry: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a run used: those given, the defaults for the rest."""
    out = {p["name"]: p["default"] for p in entry["parameters"] if p["default"] is not None}
    out.update(params)
    return out


def presets(catalog_ids: list[str]) -> list[str]:
    return [i for i in catalog_ids if not ONLY or i in ONLY]


def test_oracle_knows_the_presets_it_was_written_for(catalog):
    # The rules are keyed by preset id: a renamed preset must not leave its rule silently unused.
    assert set(RULES) <= set(catalog), set(RULES) - set(catalog)


def test_observations_agree_with_the_oracle(lab, catalog):
    rng = random.Random(SEED)
    problems, runs, rejected = [], 0, 0
    for exp_id in presets(sorted(catalog)):
        entry = catalog[exp_id]
        wall = entry["default_wall_ms"]
        for i in range(RUNS):
            params = {} if i == 0 else params_for(rng, entry)
            r = lab.run({"experiment": exp_id, "params": params, "limits": {"wall_ms": wall}}, timeout=wall / 1000 + 20)
            if r.status == 400:
                # A combination the preset refuses (the bounds are per parameter): a clear error, no run.
                err = r.json["error"]
                assert err["path"] is None or err["path"].startswith("params"), (exp_id, params, err)
                rejected += 1
                continue
            assert r.status == 200, (exp_id, params, r.body[:400])
            trace = r.json
            check_trace(trace, wall_ms=wall)
            runs += 1
            for d in disagreements(trace, effective(entry, params)):
                problems.append(f"{exp_id} {params}: {d}")
    print(f"oracle: {runs} runs agreed or not, {rejected} parameter sets refused, {len(problems)} disagreements")
    assert not problems, "\n".join(problems[:20])
    assert runs > 0 and runs >= rejected, (runs, rejected)
