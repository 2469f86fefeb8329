"""Issue 15: the server's observations against an independent oracle (oracle.py), for every preset,
with random valid parameters drawn from each parameter's published bounds (GET /api/v1/experiments).

The suite runs a small seeded sample (ORACLE_RUNS per preset, default 2; ORACLE_SEED, default 15);
`ORACLE_RUNS=200 ORACLE_PRESETS=pipe.capacity,mq.full pytest e2e/test_oracle.py` runs a longer one, and
`make oracle-soak` (bench/oracle_soak.py) the issue's soak: 200 runs of every preset, plain and jittered.
The parameters are drawn by oracle_params.py (durations and sizes from the low end of their bounds).
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from oracle import RULES, disagreements
from oracle_params import effective, params_for
from traces import check_trace

RUNS = int(os.environ.get("ORACLE_RUNS", "2"))
JITTER_RUNS = int(os.environ.get("ORACLE_JITTER_RUNS", "1"))
SEED = int(os.environ.get("ORACLE_SEED", "15"))
ONLY = [p for p in os.environ.get("ORACLE_PRESETS", "").split(",") if p]


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


def test_observations_agree_under_jittered_schedules(lab, catalog):
    # The soak's second half in small (bench/oracle_soak.py, `make oracle-soak`): each process sleeps a
    # seeded 0…jitter_us µs before each step, so the interleavings differ from the plain runs above.
    rng = random.Random(SEED + 1)
    problems, runs = [], 0
    for exp_id in presets(sorted(catalog)):
        entry = catalog[exp_id]
        wall = entry["default_wall_ms"]
        for i in range(JITTER_RUNS):
            params = params_for(rng, entry)
            schedule = {"seed": rng.randrange(1, 1 << 31), "jitter_us": rng.choice([50, 200, 1000, 3000])}
            body = {"experiment": exp_id, "params": params, "limits": {"wall_ms": wall}, "schedule": schedule}
            r = lab.run(body, timeout=wall / 1000 + 20)
            if r.status == 400:
                assert r.json["error"]["path"].startswith("params"), (exp_id, params, r.json)
                continue
            assert r.status == 200, (exp_id, body, r.body[:400])
            assert r.json["run"]["schedule"]["jitter_us"] == schedule["jitter_us"], r.json["run"].get("schedule")
            runs += 1
            for d in disagreements(r.json, effective(entry, params)):
                problems.append(f"{exp_id} {body}: {d}")
    print(f"oracle, jittered: {runs} runs, {len(problems)} disagreements")
    assert not problems, "\n".join(problems[:20])
    assert runs >= len(presets(sorted(catalog))) // 2, runs
