"""Grading: checks on runs, POST /api/v1/grades (repeats under a jittered schedule, NDJSON, Gradescope),
and `ipclab grade`, on three assignments with correct and subtly wrong submissions (grading_samples.py).

Every correct submission must pass a 20-run grade; every wrong one must fail it by the checks that
catch its mistake, with jitter, and the messages must say why."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from contract import validate_schema
from grading_samples import ASSIGNMENTS, BOUNDED_BUFFER_CHECKS, PIPE_EOF_CHECKS, bounded_buffer, pipe_eof
from harness import REPO, server_binary
from traces import check_trace

NDJSON = "application/x-ndjson"
JITTER = {"seed": 1, "jitter_us": 1000}

# The checks each wrong submission must fail, and a phrase of the message that says why.
WRONG = {
    "bounded_buffer.full_at_one": {"received": "expected \"item", "sem.producer_consumer.all_in_order": "the consumer took"},
    "bounded_buffer.no_consumer_mutex": {"consumer_locks": "0 calls matched sem_wait by cons on lock"},
    "pipe_eof.forgotten_close": {"ends": "the run ended in a deadlock",
                                 "no_deadlock": "parent reads pipe: its only open write end is parent's own",
                                 "eof": "0 calls matched read by parent on pipe (result 0)",
                                 "eof_observation": "never closed its own write end"},
    "handshake.no_reply": {"reply_sent": "0 calls matched kill by child",
                           "signal.handshake.a_acknowledged": "no answer reached a's handler"},
    "handshake.no_ready_pipe": {"child_exit": "child was killed by SIGUSR1 (expected exit code 0)",
                                "handler_first": "no sigaction by child call was made",
                                "signal.handshake.b_received": "no handler of b saw it from a"},
}


def grade(lab, name: str, **extra: Any) -> dict[str, Any]:
    scenario, checks, limits, _ = ASSIGNMENTS[name]
    r = lab.post_json("/api/v1/grades", {"scenario": scenario, "checks": checks, "limits": limits, **extra})
    assert r.status == 200, r.body[:800]
    return r.json


@pytest.mark.parametrize("name", [n for n, a in ASSIGNMENTS.items() if a[3]])
def test_a_correct_submission_passes_a_20_run_grade(lab, name):
    g = grade(lab, name, repeat=20, schedule=JITTER)
    failures = {c["id"]: c["first_failure"] for c in g["checks"] if not c["passed"]}
    assert g["passed"] and not failures, failures
    assert g["runs"] == 20 and g["score"] == g["max_score"] == sum(c.get("points", 1) for c in ASSIGNMENTS[name][1])
    assert g["outcomes"] == {"ok": 20}
    assert all(c["passed_runs"] == 20 and c["failed_runs"] == 0 for c in g["checks"])
    assert "failing_trace" not in g


@pytest.mark.parametrize("schedule", [JITTER, {"seed": 7}], ids=["jitter", "no_jitter"])
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_submission_fails_by_its_checks(lab, name, schedule):
    """Each wrong submission fails a 20-run grade, with or without jitter, by the checks naming its
    mistake (measured: every one of 20 such grades of each, both ways; see the README)."""
    g = grade(lab, name, repeat=20, schedule=schedule)
    assert not g["passed"] and g["score"] < g["max_score"]
    by_id = {c["id"]: c for c in g["checks"]}
    for check_id, phrase in WRONG[name].items():
        c = by_id[check_id]
        assert not c["passed"] and c["points"] == 0 and c["failed_runs"] >= 1, c
        f = c["first_failure"]
        assert phrase in f["message"], f
        assert f["seed"] == schedule["seed"] + f["run"], f
    # The failing trace is the first failing run's, with its schedule and its checks.
    trace = g["failing_trace"]
    check_trace(trace)
    first = min(c["first_failure"]["run"] for c in g["checks"] if c["first_failure"])
    assert trace["run"]["schedule"] == {"seed": schedule["seed"] + first, "jitter_us": schedule.get("jitter_us", 0), "cpus": "any"}
    assert not all(c["passed"] for c in trace["checks"])


def test_checks_on_a_run_say_what_was_seen(lab):
    checks = [
        {"id": "ok", "kind": "outcome", "is": "ok"},
        {"id": "child_exit", "kind": "exit", "process": "child", "code": 0, "points": 2},
        {"id": "writes", "kind": "call", "match": {"process": "child", "call": "write", "channel": "pipe"}, "count": {"min": 1, "max": 1}},
        {"id": "no_epipe", "kind": "no_call", "match": {"call": "write", "errno": "EPIPE"}},
        # Causal, whatever the load: the parent waits only after end of file, which needs the child
        # gone, after it recorded its write. (A read of 0 could start before the write's end was
        # stamped: the child may be preempted between its write and the record.)
        {"id": "write_then_eof", "kind": "order", "first": {"call": "write", "process": "child"},
         "then": {"call": "wait4", "process": "parent"}},
        {"id": "got", "kind": "received", "process": "parent", "channel": "pipe", "data": ["some bytes, then the end"]},
        {"id": "wrong_data", "kind": "received", "process": "parent", "channel": "pipe", "data": ["other bytes"], "hint": "read it all"},
        {"id": "ghost", "kind": "exit", "process": "ghost", "code": 0},
        {"id": "dl", "kind": "no_deadlock"},
    ]
    r = lab.run({"scenario": pipe_eof(), "checks": checks})
    assert r.status == 200, r.body[:500]
    t = r.json
    check_trace(t)
    res = {c["id"]: c for c in t["checks"]}
    assert [c["id"] for c in t["checks"]] == [c["id"] for c in checks]
    assert all(res[i]["passed"] for i in ("ok", "child_exit", "writes", "no_epipe", "write_then_eof", "got", "dl")), t["checks"]
    assert res["child_exit"]["points"] == 2 and res["child_exit"]["message"] == "child exited with code 0"
    seqs = {e["seq"]: e for e in t["events"]}
    assert [seqs[s]["call"] for s in res["writes"]["evidence"]] == ["write"]
    assert res["got"]["message"] == 'parent received "some bytes, then the end" from pipe'
    assert not res["wrong_data"]["passed"] and res["wrong_data"]["hint"] == "read it all"
    assert 'expected "other bytes"' in res["wrong_data"]["message"]
    assert not res["ghost"]["passed"] and 'no process "ghost"' in res["ghost"]["message"]
    assert t["max_score"] == 10 and t["score"] == 8


def test_observation_checks_on_a_preset_and_on_a_scenario(lab, catalog):
    roles = catalog["sem.producer_consumer"]["observation_roles"]["sem.producer_consumer.all_in_order"]
    assert set(roles["processes"]) == {"producer", "consumer"} and "buffer" in roles["channels"]
    # On the preset itself the observation reads the run's own parameters.
    r = lab.run({"experiment": "sem.producer_consumer", "params": {"items": 4},
                 "checks": [{"id": "sem.producer_consumer.all_in_order", "kind": "observation"}]})
    assert r.status == 200 and r.json["checks"][0]["passed"], r.json.get("checks")
    assert "4 items" in r.json["checks"][0]["message"]
    # On a student's scenario, through roles; the same check on the wrong one fails.
    check = [c for c in BOUNDED_BUFFER_CHECKS if c["kind"] == "observation"]
    r = lab.run({"scenario": bounded_buffer(), "checks": check})
    assert r.status == 200 and r.json["checks"][0]["passed"], r.json["checks"]
    # Binding a role to a name the scenario lacks fails the check, not the request.
    unbound = [{**check[0], "roles": {**check[0]["roles"], "producer": "maker"}}]
    r = lab.run({"scenario": bounded_buffer(), "checks": unbound})
    assert r.status == 200 and not r.json["checks"][0]["passed"]
    assert 'no process "maker" (bound to the role producer)' in r.json["checks"][0]["message"]


@pytest.mark.parametrize("checks, path", [
    ([{"id": "a", "kind": "call", "match": {"process": "parent"}}], "checks[0].match.call"),
    ([{"id": "a", "kind": "outcome", "is": "ok"}, {"id": "a", "kind": "no_deadlock"}], "checks[1].id"),
    ([{"id": "a", "kind": "sometimes"}], "checks[0].kind"),
    ([{"id": "a", "kind": "outcome", "is": "fine"}], "checks[0].is"),
    ([{"id": "a", "kind": "observation", "observation": "pipe.eof.nope"}], "checks[0].observation"),
    ([{"id": "pipe.eof.read_returns_zero", "kind": "observation", "roles": {"consumer": "x"}}], "checks[0].roles.consumer"),
    ([{"id": "a", "kind": "received", "process": "p", "channel": "c", "data": [1]}], "checks[0].data[0]"),
    ({"id": "a"}, "checks"),
])
def test_a_malformed_check_is_a_400_with_its_path(lab, checks, path):
    for route in ("/api/v1/runs", "/api/v1/grades"):
        r = lab.post_json(route, {"scenario": pipe_eof(), "checks": checks})
        assert r.status == 400, r.body[:300]
        assert r.json["error"]["path"] == path, r.json


def test_grade_request_bounds(lab):
    body = {"scenario": pipe_eof(), "checks": PIPE_EOF_CHECKS[:1]}
    for extra, path in [({"repeat": 0}, "repeat"), ({"repeat": 501}, "repeat"),
                        ({"schedule": {"jitter_us": 100001}}, "schedule.jitter_us"),
                        ({"schedule": {"cpus": "all"}}, "schedule.cpus"), ({"checks": []}, "checks")]:
        r = lab.post_json("/api/v1/grades", {**body, **extra})
        assert r.status == 400 and r.json["error"]["path"] == path, (extra, r.json)
    assert lab.post_json("/api/v1/grades", body, params={"format": "xml"}).json["error"]["path"] == "format"
    assert lab.get("/api/v1/grades").status == 405


def splitmix_delays(seed: int, process: int, jitter_us: int, n: int) -> list[int]:
    """The server's JitterGenerator, for the test to know the delays it must see."""
    mask = (1 << 64) - 1
    state = ((seed * 0x9E3779B97F4A7C15) & mask) ^ (((process + 1) * 0xD1B54A32D192ED03) & mask)
    out = []
    for _ in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out.append(z % (jitter_us + 1))
    return out


def test_a_runs_schedule_replays_its_delays(lab):
    """Each step starts at least its drawn delay after the previous one ended (a lower bound: never
    a test of speed); the run records its schedule."""
    steps = [{"op": "sleep", "ms": 0} for _ in range(6)]
    body = {"scenario": {"processes": [{"name": "solo", "steps": steps}]}, "schedule": {"seed": 42, "jitter_us": 20000}}
    delays = splitmix_delays(42, 0, 20000, 6)
    assert max(delays) > 5000  # the draw is not all small, so the bound says something
    for _ in range(2):
        t = lab.run(body).json
        assert t["run"]["schedule"] == {"seed": 42, "jitter_us": 20000, "cpus": "any"}
        sleeps = [e for e in t["events"] if e["call"] == "nanosleep"]
        assert len(sleeps) == 6
        for prev, cur, delay in zip(sleeps, sleeps[1:], delays[1:]):
            assert cur["t_ns"] - prev["end_ns"] >= delay * 1000, (delay, cur["t_ns"] - prev["end_ns"])
    # Without a schedule nothing is recorded.
    assert "schedule" not in lab.run({"scenario": body["scenario"]}).json["run"]


def test_grade_as_gradescope_results(lab):
    scenario, checks, limits, _ = ASSIGNMENTS["handshake.no_reply"]
    r = lab.post_json("/api/v1/grades", {"scenario": scenario, "checks": checks, "limits": limits, "repeat": 3},
                      params={"format": "gradescope"})
    assert r.status == 200
    g = r.json
    tests = {t["name"]: t for t in g["tests"]}
    assert len(tests) == len(checks)
    ack = tests["The parent's handler sees SIGUSR2 from the child"]
    assert ack["status"] == "failed" and ack["score"] == 0 and ack["max_score"] == 2
    assert "failed in 3 of 3 runs" in ack["output"] and "no answer reached" in ack["output"]
    assert tests["The child exits with 0"]["status"] == "passed"
    assert g["score"] == sum(t["score"] for t in g["tests"])


def test_grade_streamed_as_ndjson(server):
    import http.client
    scenario, checks, limits, _ = ASSIGNMENTS["pipe_eof.correct"]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request("POST", "/api/v1/grades", json.dumps({"scenario": scenario, "checks": checks, "repeat": 5}).encode(),
                     {"Content-Type": "application/json", "Accept": NDJSON})
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Type") == NDJSON
        lines = [json.loads(line) for line in r.read().splitlines()]
    finally:
        conn.close()
    for n, line in enumerate(lines):
        validate_schema(line, "GradeStreamLine", f"line {n}")
    assert [line["type"] for line in lines] == ["run"] * 5 + ["grade"]
    assert sorted(line["run"] for line in lines[:5]) == list(range(5))
    assert all(line["passed"] and line["score"] == line["max_score"] for line in lines[:5])
    assert lines[-1]["grade"]["runs"] == 5 and lines[-1]["grade"]["passed"]


def test_cli_grade_exit_status(tmp_path):
    def grade_cli(name: str | None, *args: str) -> subprocess.CompletedProcess:
        files = []
        if name:
            scenario, checks, _, _ = ASSIGNMENTS[name]
            (tmp_path / "s.json").write_text(json.dumps(scenario))
            (tmp_path / "c.json").write_text(json.dumps(checks))
            files = ["--scenario", str(tmp_path / "s.json"), "--checks", str(tmp_path / "c.json")]
        return subprocess.run([str(server_binary()), "grade", *files, *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120)

    ok = grade_cli("handshake.correct", "--repeat", "5", "--jitter-us", "500", "--format", "gradescope")
    assert ok.returncode == 0, ok.stderr
    assert all(t["status"] == "passed" for t in json.loads(ok.stdout)["tests"])
    bad = grade_cli("bounded_buffer.no_consumer_mutex", "--repeat", "3", "--format", "text")
    assert bad.returncode == 1, bad.stderr
    assert "FAIL The consumer takes the mutex for each item" in bad.stdout and "score 7/9 over 3 runs" in bad.stdout
    # Graded on either run image (C, the default, or the Swift runner), the same grade.
    on_swift = grade_cli("bounded_buffer.no_consumer_mutex", "--repeat", "3", "--format", "text", "--run-image", "swift")
    def without_time(text: str) -> str:  # the last line ends with the grade's wall time
        return re.sub(r", \d+ ms\n$", "\n", text)
    assert on_swift.returncode == 1 and without_time(on_swift.stdout) == without_time(bad.stdout), on_swift.stdout + on_swift.stderr
    as_json = grade_cli("pipe_eof.correct", "--repeat", "2", "--seed", "9", "--format", "json")
    g = json.loads(as_json.stdout)
    validate_schema(g, "Grade", "ipclab grade --format json")
    assert as_json.returncode == 0 and g["schedule"]["seed"] == 9
    (tmp_path / "bad.json").write_text('[{"id": "a", "kind": "call"}]')
    (tmp_path / "s.json").write_text(json.dumps(pipe_eof()))
    wrong = subprocess.run([str(server_binary()), "grade", "--scenario", str(tmp_path / "s.json"), "--checks",
                            str(tmp_path / "bad.json")], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "checks[0].match" in wrong.stderr, wrong.stderr
    # --fields trims the failing run's trace as ?fields= does on POST /api/v1/grades.
    trimmed = grade_cli("bounded_buffer.no_consumer_mutex", "--repeat", "2", "--format", "json", "--fields", "run,checks")
    failing = json.loads(trimmed.stdout)["failing_trace"]
    assert trimmed.returncode == 1 and set(failing) == {"trace_version", "run", "checks", "score", "max_score"}, trimmed.stderr
    for args, said in [(["--fields", "run,nope", "--format", "json"], 'not "nope"'), (["--fields", "run", "--format", "text"], "--format json")]:
        refused = grade_cli("pipe_eof.correct", *args)
        assert refused.returncode == 64 and said in refused.stderr, refused.stderr


def test_a_deadlock_is_found_at_once(lab):
    """A forgotten close: the parent reads a pipe whose only open write end is its own."""
    r = lab.run({"scenario": pipe_eof(close_write_end=False), "limits": {"wall_ms": 8000}})
    t = r.json
    check_trace(t)
    run = t["run"]
    assert run["outcome"] == "deadlock", run
    assert run["duration_ns"] < 4_000_000_000, run["duration_ns"]  # well before the wall limit: the backstop never came
    blocked = run["deadlock"]["blocked"]
    assert [(b["process"], b["call"], b["channel"]) for b in blocked] == [("parent", "read", "pipe")]
    assert "parent reads pipe: its only open write end is parent's own" in run["deadlock"]["explanation"]
    assert run["reason"] == run["deadlock"]["explanation"]
    read = next(e for e in t["events"] if e["call"] == "read" and not e["returned"])
    assert blocked[0]["since_ms"] == pytest.approx(read["t_ns"] / 1e6, abs=0.01)
    # A deadlocked bounded buffer (its mutex starts at 0): both sides wait on semaphores nobody posts.
    scenario = bounded_buffer()
    scenario["channels"][3]["value"] = 0
    run = lab.run({"scenario": scenario, "limits": {"wall_ms": 8000}}).json["run"]
    assert run["outcome"] == "deadlock", run
    assert {(b["process"], b["call"], b["channel"]) for b in run["deadlock"]["blocked"]} == {
        ("prod", "sem_wait", "lock"), ("cons", "sem_wait", "items")}


def test_a_timed_wait_is_not_a_deadlock(lab):
    """While the child waits with a timeout, the blocked parent is no deadlock; once the child has
    ended, the parent's read (its own write end open) is one."""
    scenario = pipe_eof(close_write_end=False)
    scenario["processes"][1]["steps"].insert(2, {"op": "wait_signals", "count": 1, "timeout_ms": 400})
    t = lab.run({"scenario": scenario, "limits": {"wall_ms": 8000}}).json
    assert t["run"]["outcome"] == "deadlock", t["run"]
    ppoll = next(e for e in t["events"] if e["process"] == "child" and e["call"] == "ppoll")
    assert ppoll["returned"] and ppoll["end_ns"] - ppoll["t_ns"] >= 400_000_000
    assert t["run"]["duration_ns"] > ppoll["end_ns"]


def test_no_false_deadlock(lab, catalog):
    """Every preset 50 times (the measurements 5 times) and every correct grading sample 200 times,
    with and without jitter: no run ends as a deadlock."""
    no_deadlock = [{"id": "dl", "kind": "no_deadlock"}]
    for experiment in sorted(catalog):
        repeat = 5 if experiment.startswith("bench.") else 50
        r = lab.post_json("/api/v1/grades", {"experiment": experiment, "checks": no_deadlock, "repeat": repeat})
        assert r.status == 200, r.body[:300]
        assert "deadlock" not in r.json["outcomes"], (experiment, r.json["checks"][0]["first_failure"])
    for name, (scenario, _, limits, correct) in ASSIGNMENTS.items():
        if not correct:
            continue
        for schedule in ({"seed": 1}, {"seed": 1, "jitter_us": 1000, "cpus": "one"}):
            r = lab.post_json("/api/v1/grades", {"scenario": scenario, "checks": no_deadlock, "limits": limits,
                                                 "repeat": 100, "schedule": schedule})
            assert r.status == 200 and r.json["outcomes"] == {"ok": 100}, (name, schedule, r.json["outcomes"])


def test_fields_leave_the_rest_out(lab):
    body = {"scenario": pipe_eof(), "checks": PIPE_EOF_CHECKS[:2]}
    t = lab.run(body, params={"fields": "run,checks"}).json
    assert set(t) == {"trace_version", "run", "checks", "score", "max_score"}
    assert t["run"]["outcome"] == "ok" and t["score"] == t["max_score"] == 2
    assert set(lab.run(body, params={"fields": "events"}).json) == {"trace_version", "events"}
    for params in ({"fields": "run,colour"}, {"fields": "run", "format": "text"}):
        r = lab.run(body, params=params)
        assert r.status == 400 and r.json["error"]["path"] == "fields", r.json
