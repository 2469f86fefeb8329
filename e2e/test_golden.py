"""Traces stay the same (issue #12, item 5): every preset (the measurement ones with small sizes) does
the same calls with the same arguments and results, and makes the same observations, as the golden
file recorded from the build before the run side was changed. What is normalised, and why: golden.py."""

from __future__ import annotations

import json

import pytest

from golden import GOLDEN, differences, normalise, requests_for

GOLDEN_TRACES = json.loads(GOLDEN.read_text())


def test_golden_covers_the_catalog(catalog):
    assert sorted(GOLDEN_TRACES) == sorted(catalog), "a preset was added or removed: regenerate e2e/golden/traces.json"


@pytest.mark.parametrize("exp_id,body", requests_for(sorted(GOLDEN_TRACES)), ids=lambda v: v if isinstance(v, str) else "")
def test_trace_matches_golden(lab, exp_id, body):
    r = lab.run(body)
    assert r.status == 200, r.body[:500]
    # Every event names the pid of the process that made it: the golden file, which names pids by
    # process, would not see a recorder naming its parent (the C runner's pin, ring.c).
    pid_of = {p["name"]: p["pid"] for p in r.json["processes"]}
    wrong = [e for e in r.json["events"] if e["pid"] != pid_of.get(e["process"])]
    assert not wrong, f"{exp_id}: events whose pid is not their process's {pid_of}: {wrong[:3]}"
    got = normalise(exp_id, r.json)
    want = GOLDEN_TRACES[exp_id]
    diff = differences(got, want)
    assert not diff, f"{exp_id} differs from its golden trace (got vs golden):\n" + "\n".join(diff[:20])
