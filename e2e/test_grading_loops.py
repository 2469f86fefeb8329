"""Issue 14, items 5–7 through HTTP: loops in the scenario language (the 20-item bounded buffer in at
most 30 steps, 4096 steps once expanded, events naming their iteration, errors naming the written
path), every validation error at once (`error.errors`), and `?fields=` on a grade's failing trace."""

from __future__ import annotations

from typing import Any

import pytest

from grading_samples import ASSIGNMENTS, BOUNDED_BUFFER_CHECKS, bounded_buffer, count_steps, pipe_eof
from traces import check_trace


def sem_posts(times: int) -> dict[str, Any]:
    return {"channels": [{"name": "s", "kind": "semaphore", "type": "posix_unnamed", "value": 0}],
            "processes": [{"name": "p", "steps": [{"op": "loop", "times": times, "do": [{"op": "sem_post", "channel": "s"}]}]}]}


def test_a_20_item_bounded_buffer_in_loops_runs_and_names_each_iteration(lab):
    scenario = bounded_buffer(items=20)
    assert count_steps(scenario) <= 30
    received = {"id": "received", "kind": "received", "process": "cons", "channel": "buf",
                "data": [f"item {i + 1}" for i in range(20)]}
    r = lab.run({"scenario": scenario, "checks": [received, {"id": "ok", "kind": "outcome", "is": "ok"}]})
    assert r.status == 200, r.body[:500]
    t = r.json
    check_trace(t)
    assert all(c["passed"] for c in t["checks"]), t["checks"]
    # The trace keeps the loop as written; each event of a loop's step names where it is written and its iteration.
    assert t["scenario"]["processes"][0]["steps"][0]["op"] == "loop"
    stores = [e for e in t["events"] if e["call"] == "store"]
    assert len(stores) == 20
    fourteenth = stores[13]
    assert fourteenth["step_path"] == "steps[0].do[2]" and fourteenth["iteration"] == {"i": 13}
    assert fourteenth["payload"]["text"].startswith("item 14") and fourteenth["args"]["offset"] == 13 % 3 * 16
    assert fourteenth["step"] == 13 * 5 + 2
    loads = [e for e in t["events"] if e["call"] == "load"]
    assert [e["iteration"]["i"] for e in loads] == list(range(20)) and {e["step_path"] for e in loads} == {"steps[0].do[2]"}
    # A step after the loop: its written place is not its index among the steps run.
    wait = next(e for e in t["events"] if e["call"] == "wait4")
    assert wait["step"] == 100 and wait["step_path"] == "steps[1]" and wait["iteration"] == {}
    # A process written without loops carries neither field.
    plain = lab.run({"scenario": pipe_eof()}).json
    assert not any("step_path" in e or "iteration" in e for e in plain["events"])
    text = lab.run({"scenario": scenario}, params={"format": "text"}).body.decode()
    assert "# steps[0].do[2] i=13" in text


def test_a_loop_reaches_4096_steps_and_no_more(lab):
    t = lab.run({"scenario": sem_posts(4096), "limits": {"wall_ms": 8000}}).json
    assert t["run"]["outcome"] == "ok", t["run"]
    posts = [e for e in t["events"] if e["call"] == "sem_post"]
    assert len(posts) == 4096 and posts[-1]["step"] == 4095 and posts[-1]["iteration"] == {"i": 4095}
    too_many = sem_posts(4096)
    too_many["processes"][0]["steps"].append({"op": "sem_post", "channel": "s"})
    r = lab.run({"scenario": too_many})
    assert r.status == 400 and r.json["error"]["path"] == "scenario.processes[0].steps[1]", r.json
    assert "more than 4096 steps" in r.json["error"]["message"]


@pytest.mark.parametrize("step, field, phrase", [
    ({"op": "store", "channel": "buf", "offset": 0, "data": "item {j}"}, "data", 'no loop index named "j" here (indexes: i)'),
    ({"op": "store", "channel": "buf", "offset": "{i * 16}", "data": "x"}, "offset", "goes past the end of \"buf\" (48 bytes) (in the iteration i=3)"),
    ({"op": "load", "channel": "buf", "offset": "i", "size": 1}, "offset", 'must be an integer, or inside a loop "{expression}"'),
    ({"op": "load", "channel": "nowhere", "size": 1}, "channel", "lock) (in the iteration i=0)"),
])
def test_an_error_inside_a_loop_names_its_written_path(lab, step, field, phrase):
    scenario = bounded_buffer()
    scenario["processes"][1]["steps"] = [{"op": "sleep", "ms": 0}, {"op": "sleep", "ms": 0},
                                         {"op": "loop", "times": 5, "do": [step, {"op": "sleep", "ms": 0}]}]
    for route in ("/api/v1/runs", "/api/v1/grades"):
        r = lab.post_json(route, {"scenario": scenario, "checks": BOUNDED_BUFFER_CHECKS[:1]})
        assert r.status == 400, r.body[:300]
        e = r.json["error"]
        assert e["code"] == "invalid_scenario" and e["path"] == f"scenario.processes[1].steps[2].do[0].{field}", e
        assert phrase in e["message"], e
        # Once, not once per iteration.
        assert [x["path"] for x in e["errors"]] == [e["path"]]


def test_every_validation_error_at_once_in_document_order(lab):
    scenario = pipe_eof()
    scenario["processes"][0]["steps"][1] = {"op": "read_all", "channel": "nope", "size": 64}
    scenario["processes"][0]["steps"][2] = {"op": "sleep", "ms": -1}
    checks = [{"id": "a", "kind": "outcome", "is": "fine"}, {"id": "b", "kind": "no_deadlock"}, {"id": "b", "kind": "no_deadlock"}]
    expected = [("invalid_scenario", "scenario.processes[0].steps[1].channel"),
                ("invalid_scenario", "scenario.processes[0].steps[2].ms"),
                ("unknown_field", "colour"),
                ("invalid_request", "checks[0].is"),
                ("invalid_request", "checks[2].id"),
                ("invalid_limit", "limits.wall_ms")]
    body = {"scenario": scenario, "colour": "red", "checks": checks, "limits": {"wall_ms": 0}}
    for route, extra in (("/api/v1/runs", {}), ("/api/v1/grades", {"repeat": 3})):
        r = lab.post_json(route, {**body, **extra})
        assert r.status == 400, r.body[:300]
        e = r.json["error"]
        assert [(x["code"], x["path"]) for x in e["errors"]] == expected, e["errors"]
        assert {k: e[k] for k in ("code", "message", "path")} == e["errors"][0]
        assert 'no channel named "nope"' in e["errors"][0]["message"] and "not -1" in e["errors"][1]["message"]
    # A grade's own fields take their place in the order too.
    r = lab.post_json("/api/v1/grades", {"repeat": 0, **body})
    assert [x["path"] for x in r.json["error"]["errors"]][:2] == ["repeat", "scenario.processes[0].steps[1].channel"]


def test_a_lone_error_is_a_list_of_one_and_bad_json_says_where(lab):
    r = lab.run({"scenario": pipe_eof(), "limits": {"wall_ms": 0}})
    e = r.json["error"]
    assert r.status == 400 and e["errors"] == [{"code": e["code"], "message": e["message"], "path": e["path"]}]
    r = lab.raw("POST", "/api/v1/runs", b'{"scenario":\n  {"processes": [}\n}', {"Content-Type": "application/json"})
    e = r.json["error"]
    assert e["code"] == "invalid_json" and "line 2, column 18" in e["message"] and len(e["errors"]) == 1, e
    # Errors found before the body is read, and transport errors, carry no list.
    r = lab.get("/api/v1/nothing")
    assert r.status == 404 and "errors" not in r.json["error"]


def test_at_most_100_errors(lab):
    steps = [{"op": "sleep", "ms": -1}] * 150
    r = lab.run({"scenario": {"processes": [{"name": "p", "steps": steps}]}})
    errors = r.json["error"]["errors"]
    assert len(errors) == 100 and errors[-1]["path"] == "scenario.processes[0].steps[99].ms"


def test_fields_on_a_grades_failing_trace(lab):
    scenario, checks, limits, _ = ASSIGNMENTS["handshake.no_reply"]
    body = {"scenario": scenario, "checks": checks, "limits": limits, "repeat": 2}
    g = lab.post_json("/api/v1/grades", body, params={"fields": "run,checks"}).json
    assert not g["passed"]
    assert set(g["failing_trace"]) == {"trace_version", "run", "checks", "score", "max_score"}
    assert g["failing_trace"]["run"]["schedule"]["seed"] == g["schedule"]["seed"] + min(
        c["first_failure"]["run"] for c in g["checks"] if c["first_failure"])
    whole = lab.post_json("/api/v1/grades", body).json
    assert {"events", "processes", "scenario"} <= set(whole["failing_trace"])
    for params in ({"fields": "run,colour"}, {"fields": "run", "format": "gradescope"}):
        r = lab.post_json("/api/v1/grades", body, params=params)
        assert r.status == 400 and r.json["error"]["path"] == "fields", r.json
