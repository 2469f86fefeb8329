"""Grading on the page (issue #18): a run's checks with pass/fail, points and evidence; a grade's
checks over the repeats, the first failing run opened, "Replay this schedule" sending that run's
recorded schedule (and saying what a replay cannot repeat); the checks editor (kinds from
openapi.yaml, a starter set, a template per kind the server accepts); the scenario editor's line
numbers and every error marked inline at once (`error.errors`, or today's single `error`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from labpage import PHONE

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"

# pipe.hello's child exits 0, so `child_exit_7` fails in every run; `got` passes with evidence.
CHECKS = [
    {"id": "ends", "kind": "outcome", "is": "ok"},
    {"id": "child_exit_7", "name": "child exits with 7", "kind": "exit", "process": "child", "code": 7,
     "hint": "end the child with exit(7)", "points": 3},
    {"id": "got", "kind": "received", "process": "parent", "channel": "pfds", "data": ["Hello"]},
]


def open_editor(lp: Any) -> dict[str, Any]:
    lp.open("#experiment=pipe.hello")
    lp.page.wait_for_selector(".diagram-body")
    lp.page.click("#edit-scenario")
    lp.page.wait_for_selector("#checks-text")
    return json.loads(lp.page.locator("#scenario-text").input_value())


def is_post(path: str) -> Any:
    return lambda r: path in r.url and r.request.method == "POST"


def grade_from_page(lp: Any, lab: Any, checks: list[dict[str, Any]], repeat: int, jitter: int) -> tuple[dict, dict]:
    """Grade the editor's scenario with `checks`; answer (the request the page sent, the stored grade)."""
    lp.page.fill("#checks-text", json.dumps(checks, indent=2))
    lp.page.fill("#grade-repeat", str(repeat))
    lp.page.fill("#grade-jitter_us", str(jitter))
    with lp.page.expect_request(lambda r: "/api/v1/grades" in r.url and r.method == "POST") as req:
        lp.page.click("#scenario-grade")
    lp.page.wait_for_function("() => /^#grade=/.test(location.hash) && !document.querySelector('#grade').hidden",
                              timeout=30_000)
    grade_id = lp.page.evaluate("location.hash").split("=", 1)[1]
    stored = lab.get(f"/api/v1/grades/{grade_id}")
    assert stored.status == 200, stored.body[:300]
    return json.loads(req.value.post_data), stored.json


def highlighted_rows(lp: Any) -> list[int]:
    return sorted(lp.page.eval_on_selector_all(".events-table tr.evidence", "rs => rs.map(r => +r.dataset.seq)"))


def test_a_runs_checks_show_pass_fail_points_and_evidence(lab_page: Any) -> None:
    lp = lab_page
    open_editor(lp)
    lp.page.fill("#checks-text", json.dumps(CHECKS))
    status, trace = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 200, trace
    lp.wait_for_diagram(trace)
    assert [c["passed"] for c in trace["checks"]] == [True, False, True]
    panel = lp.page.locator("#checks-panel")
    assert panel.is_visible()
    assert f"score {trace['score']} of {trace['max_score']}" in panel.inner_text()
    for c in trace["checks"]:
        btn = lp.page.locator(f"#checks button[data-check='{c['id']}']")
        text = btn.inner_text()
        assert ("✓" if c["passed"] else "✗") in text
        assert f"{c['points']}/{c['max_points']} point" in text
        assert c["message"] in text
        assert ("Hint: end the child with exit(7)" in text) == (not c["passed"])
    got = next(c for c in trace["checks"] if c["id"] == "got")
    assert got["evidence"], got
    lp.page.click("#checks button[data-check='got']")
    assert highlighted_rows(lp) == sorted(got["evidence"])
    marked = lp.page.eval_on_selector_all(".diagram-body .event.evidence", "es => es.map(e => +e.dataset.seq)")
    assert sorted(set(marked)) == sorted(got["evidence"])
    # pressed again, it lets go
    lp.page.click("#checks button[data-check='got']")
    assert highlighted_rows(lp) == [] and lp.page.locator("#checks button[aria-pressed=true]").count() == 0
    # a run without checks has no checks panel
    lp.page.fill("#checks-text", "")
    status, plain = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 200 and "checks" not in plain
    lp.wait_for_diagram(plain)
    assert not panel.is_visible()


def test_a_grade_shows_pass_counts_the_failing_run_and_replays_its_schedule(lab_page: Any, lab: Any,
                                                                            artifacts: Path) -> None:
    lp = lab_page
    scenario = open_editor(lp)
    sent, grade = grade_from_page(lp, lab, CHECKS, repeat=4, jitter=700)
    assert sent["repeat"] == 4 and sent["schedule"]["jitter_us"] == 700 and sent["checks"] == CHECKS
    assert sent["scenario"] == scenario
    assert not grade["passed"] and grade["runs"] == 4
    view = lp.page.locator("#grade")
    assert f"score {grade['score']} of {grade['max_score']}" in view.inner_text()
    for c in grade["checks"]:
        row = lp.page.locator(f"#grade tr[data-check='{c['id']}']")
        assert f"{c['passed_runs']} of {c['passed_runs'] + c['failed_runs']} passed" in row.inner_text()
        assert f"{c['points']}/{c['max_points']}" in row.inner_text()
        if c["first_failure"]:
            f = c["first_failure"]
            assert f"run {f['run']} (seed {f['seed']}): {f['message']}" in row.inner_text()
    # the first failing run is open below, with its checks
    failing = grade["failing_trace"]
    lp.page.wait_for_function("id => document.querySelector('#results').dataset.runId === id", arg=failing["run"]["id"])
    assert lp.page.locator("#results").get_attribute("data-grade-run") == "0"
    bad = next(c for c in failing["checks"] if c["id"] == "child_exit_7")
    lp.page.click("#grade button.grade-show[data-check=child_exit_7]")
    assert lp.page.locator("#checks button[data-check=child_exit_7]").get_attribute("aria-pressed") == "true"
    assert highlighted_rows(lp) == sorted(bad["evidence"]) and bad["evidence"]
    view.screenshot(path=str(artifacts / "grading-grade.png"))
    assert lp.page.locator("label[for=share-url]").inner_text() == "Link to this grade"
    assert lp.page.locator("#diagram-title").get_attribute("data-grade-run") == "0"
    # the replay sends the failing run's recorded schedule with the grade's own request, and says
    # that the kernel's scheduling does not replay
    schedule = failing["run"]["schedule"]
    button = lp.page.locator("#replay")
    assert button.inner_text() == f"Replay this schedule (seed {schedule['seed']}: the delays, not the kernel's timing)"
    note = lp.page.locator("#replay-note").inner_text()
    assert "up to 700 µs" in note and "does not replay" in note
    status, replayed = lp.run_and_capture(lambda: button.click())
    assert status == 200, replayed
    with_schedule = replayed["run"]["schedule"]
    assert with_schedule == schedule
    assert replayed["scenario"] == failing["scenario"]
    assert [c["id"] for c in replayed["checks"]] == [c["id"] for c in CHECKS]
    lp.wait_for_diagram(replayed)
    assert "Failed again: child_exit_7" in lp.page.locator("#banner").inner_text()
    assert lp.page.locator("#grade").is_visible()   # the grade stays above its replay
    assert lp.page.locator("label[for=share-url]").inner_text() == "Link to this run"


def test_a_stored_grade_opens_from_its_link_without_grading(make_lab_page: Any, lab: Any) -> None:
    lp = make_lab_page()
    open_editor(lp)
    _, grade = grade_from_page(lp, lab, CHECKS[:2], repeat=2, jitter=0)
    link = lp.page.evaluate("location.href")
    other = make_lab_page()
    posts: list[str] = []
    other.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    other.page.goto(link)
    other.page.wait_for_selector("#grade:not([hidden]) tr[data-check=child_exit_7]")
    other.page.wait_for_function("id => document.querySelector('#results').dataset.runId === id",
                                 arg=grade["failing_trace"]["run"]["id"])
    assert posts == []
    assert other.page.locator("#exp-title").inner_text() == "A stored grade"
    # no jitter: nothing to replay, and the button says so; a link keeps no checks, and the note says so
    assert other.page.locator("#replay").inner_text() == "Run it again (no schedule to replay)"
    note = other.page.locator("#replay-note").inner_text()
    assert "perturbed nothing" in note and "without them" in note
    missing = make_lab_page()
    missing.page.goto(missing.base_url + "#grade=" + "0" * 32)
    missing.page.wait_for_selector("#banner.outcome-error")
    assert "not stored" in missing.page.locator("#banner").inner_text()


def test_checks_editor_lists_the_servers_kinds_and_each_template_is_accepted(lab_page: Any, lab: Any) -> None:
    lp = lab_page
    scenario = open_editor(lp)
    spec = yaml.safe_load(OPENAPI.read_text())
    kinds = spec["components"]["schemas"]["Check"]["properties"]["kind"]["enum"]
    lp.page.wait_for_function("n => document.querySelectorAll('#check-kind option').length === n", arg=len(kinds))
    assert lp.page.eval_on_selector_all("#check-kind option", "os => os.map(o => o.value)") == kinds
    # "What each kind takes" is the schema's own description, with every kind named in it
    about = set(lp.page.eval_on_selector_all("#check-kinds-about code", "cs => cs.map(c => c.textContent)"))
    assert set(kinds) <= about
    starter = json.loads(lp.page.locator("#checks-text").input_value())
    assert {"id": "ends_ok", "kind": "outcome", "is": "ok"}.items() <= starter[0].items()
    assert any(c["kind"] == "observation" for c in starter)   # from the experiment's own observations
    r = lab.post_json("/api/v1/runs", {"scenario": scenario, "checks": starter})
    assert r.status == 200, r.body[:400]
    assert all(c["passed"] for c in r.json["checks"]), r.json["checks"]
    lp.page.fill("#checks-text", "")
    for kind in kinds:
        lp.page.select_option("#check-kind", kind)
        lp.page.click("#check-add")
    added = json.loads(lp.page.locator("#checks-text").input_value())
    assert [c["kind"] for c in added] == kinds
    r = lab.post_json("/api/v1/runs", {"scenario": scenario, "checks": added})
    assert r.status == 200, r.body[:400]
    # the page runs them too
    status, trace = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 200 and len(trace["checks"]) == len(kinds)


def gutter_bad_lines(lp: Any, area: str) -> list[int]:
    return lp.page.eval_on_selector_all(f"#{area}-text >> xpath=../.. >> .editor-gutter .bad",
                                        "ds => ds.map(d => +d.dataset.line)")


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_every_error_is_marked_on_its_line_at_once(lab_page: Any, artifacts: Path) -> None:
    lp = lab_page
    scenario = open_editor(lp)
    scenario["processes"][0]["steps"][1]["size"] = 0
    scenario["processes"][1]["steps"][0]["bogus"] = 1
    text = json.dumps(scenario, indent=2)
    checks_text = json.dumps(CHECKS, indent=2)
    lp.page.fill("#scenario-text", text)
    lp.page.fill("#checks-text", checks_text)
    # line numbers: one per line of the text
    assert lp.page.locator("#scenario-text >> xpath=../.. >> .editor-gutter div[data-line]").count() == text.count("\n") + 1
    errors = [
        {"code": "invalid_parameter", "message": "must be 1…1048576, not 0", "path": "scenario.processes[0].steps[1].size"},
        {"code": "unknown_field", "message": "unknown field \"bogus\"", "path": "scenario.processes[1].steps[0].bogus"},
        {"code": "invalid_request", "message": "must be one of \"ok\", \"timeout\", not \"x\"", "path": "checks[0].is"},
        {"code": "invalid_parameter", "message": "must be at most 100000", "path": "schedule.jitter_us"},
        {"code": "invalid_request", "message": "no field to blame", "path": None, "line": 3, "column": 5},
    ]
    body = {"error": {**errors[0], "errors": errors}}

    def fake(route: Any) -> None:
        route.fulfill(status=400, content_type="application/json", body=json.dumps(body))
    lp.page.route("**/api/v1/grades*", fake)
    lp.page.click("#scenario-grade")
    lp.page.wait_for_selector("#scenario-error .error-list")
    marks = lp.page.eval_on_selector_all("#scenario-text >> xpath=.. >> .editor-marks mark", "ms => ms.map(m => m.textContent)")
    assert marks == ['"size": 0', '"bogus": 1']
    assert gutter_bad_lines(lp, "scenario") == [line_of(text, '"size": 0'), line_of(text, '"bogus": 1')]
    items = lp.page.locator("#scenario-error li").all_inner_texts()
    assert len(items) == 3 and "scenario.processes[0].steps[1].size" in items[0] and "bogus" in items[1]
    # an error that names no field is listed too, unmarked, with the place in the request the server gave
    assert "no field to blame" in items[2] and "line 3, column 5 of the request" in items[2]
    assert "null" not in lp.page.locator("#scenario-error").inner_text()
    bogus_line = line_of(text, '"bogus": 1')
    assert f"line {bogus_line}" in items[1]
    assert lp.page.locator("#checks-text >> xpath=.. >> .editor-marks mark").inner_text() == '"is": "ok"'
    assert "null" not in lp.page.locator("#checks-error").inner_text()
    assert lp.page.locator("#checks-error").inner_text().startswith("line ")
    assert gutter_bad_lines(lp, "checks") == [line_of(checks_text, '"is": "ok"')]
    assert lp.page.locator("#grade-jitter_us").get_attribute("aria-invalid") == "true"
    assert "and 4 more errors, each marked where it is" in lp.page.locator("#banner").inner_text()
    assert "schedule.jitter_us" in lp.page.locator("#settings-error").inner_text()
    # the cursor sits on the first error; a line button moves it to its own error
    sel = "(() => { const t = document.querySelector('#scenario-text'); return t.value.slice(t.selectionStart, t.selectionEnd); })()"
    assert lp.page.evaluate(sel) == '"size": 0'
    lp.page.locator("#scenario-error li").nth(1).locator("button.err-line").click()
    assert lp.page.evaluate(sel) == '"bogus": 1'
    lp.page.locator("#editor").screenshot(path=str(artifacts / "grading-editor-errors.png"))
    # typing clears that text's marks only
    lp.page.locator("#scenario-text").press("End")
    lp.page.locator("#scenario-text").type(" ")
    assert lp.page.locator("#scenario-text >> xpath=.. >> .editor-marks mark").count() == 0
    assert gutter_bad_lines(lp, "scenario") == []
    assert lp.page.locator("#checks-text >> xpath=.. >> .editor-marks mark").count() == 1


def test_the_servers_errors_each_in_its_place(lab_page: Any) -> None:
    """The real server: today's one `error`, or every error of `error.errors` (branch grading2) —
    each shown where its path points, none lost."""
    lp = lab_page
    scenario = open_editor(lp)
    scenario["processes"][0]["steps"][1]["size"] = 0
    scenario["processes"][1]["steps"][0]["bogus"] = 1
    text = json.dumps(scenario, indent=2)
    lp.page.fill("#scenario-text", text)
    lp.page.fill("#checks-text", json.dumps([dict(CHECKS[0]), {"id": "x", "kind": "bogus"}], indent=2))
    lp.page.fill("#grade-repeat", "2")
    with lp.page.expect_response(lambda r: "/api/v1/grades" in r.url and r.request.method == "POST") as info:
        lp.page.click("#scenario-grade")
    assert info.value.status == 400
    body = info.value.json()
    listed = body["error"].get("errors") or [body["error"]]
    assert listed[0]["path"] == body["error"]["path"]   # the top-level error is the first
    lp.page.wait_for_selector("#banner.outcome-error")
    in_scenario = [e for e in listed if e["path"].startswith("scenario")]
    in_checks = [e for e in listed if e["path"].startswith("checks")]
    in_fields = [e for e in listed if e["path"] in ("repeat", "limits.wall_ms") or e["path"].startswith("schedule.")]
    assert len(in_scenario) + len(in_checks) + len(in_fields) == len(listed)
    assert lp.page.locator("#scenario-error li").count() == len(in_scenario)
    marks = lp.page.eval_on_selector_all("#scenario-text >> xpath=.. >> .editor-marks mark", "ms => ms.map(m => m.textContent)")
    assert marks == ['"size": 0', '"bogus": 1'][: len(in_scenario)]
    assert gutter_bad_lines(lp, "scenario") == [line_of(text, m) for m in marks]
    assert lp.page.locator("#checks-text >> xpath=.. >> .editor-marks mark").count() == len(in_checks)
    if in_checks:
        assert lp.page.locator("#checks-text >> xpath=.. >> .editor-marks mark").inner_text() == '"kind": "bogus"'
    assert (lp.page.locator("#grade-repeat").get_attribute("aria-invalid") == "true") == any(e["path"] == "repeat" for e in listed)
    assert ("more error" in lp.page.locator("#banner").inner_text()) == (len(listed) > 1)
    # alone, a bad check kind is marked in the checks text, where the server's path points
    scenario["processes"][0]["steps"][1]["size"] = 6
    del scenario["processes"][1]["steps"][0]["bogus"]
    lp.page.fill("#scenario-text", json.dumps(scenario, indent=2))
    lp.page.fill("#checks-text", json.dumps([dict(CHECKS[0]), {"id": "x", "kind": "bogus"}], indent=2))
    status, body = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 400 and body["error"]["path"] == "checks[1].kind", body
    lp.page.wait_for_selector("#checks-error .error-list")
    assert lp.page.locator("#checks-text >> xpath=.. >> .editor-marks mark").inner_text() == '"kind": "bogus"'
    assert lp.page.locator("#scenario-error").is_hidden()


def test_bad_checks_json_is_caught_before_sending(lab_page: Any) -> None:
    lp = lab_page
    open_editor(lp)
    posts: list[str] = []
    lp.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    lp.page.fill("#checks-text", '[\n  {"id": "a", "kind": "outcome"},\n  {"id": "b" "kind": "exit"}\n]')
    lp.page.click("#scenario-grade")
    lp.page.wait_for_selector("#checks-error .error-list")
    assert "line 3" in lp.page.locator("#checks-error").inner_text()
    assert gutter_bad_lines(lp, "checks") == [3]
    assert "nothing was run" in lp.page.locator("#banner").inner_text()
    # grading needs a check: an empty list is refused on the page
    lp.page.fill("#checks-text", "")
    lp.page.click("#scenario-grade")
    assert "at least one check" in lp.page.locator("#checks-error").inner_text()
    assert posts == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_grading_view_fits_a_phone_and_passes_axe(make_lab_page: Any, lab: Any, artifacts: Path, scheme: str) -> None:
    from test_page_second import AXE
    if AXE is None:
        pytest.fail("the accessibility scan needs axe-playwright-python (e2e/browser/requirements.txt)", pytrace=False)
    for viewport, size in ((PHONE, "phone"), ({"width": 1440, "height": 900}, "desktop")):
        lp = make_lab_page(viewport=viewport, scheme=scheme)
        open_editor(lp)
        grade_from_page(lp, lab, CHECKS, repeat=3, jitter=300)
        lp.page.click("#grade button.grade-show[data-check=child_exit_7]")
        assert lp.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        lp.page.locator("#grade").scroll_into_view_if_needed()
        lp.shot(artifacts / f"grading-{size}-{scheme}.png", full_page=False)
        lp.page.locator("#editor").scroll_into_view_if_needed()
        lp.shot(artifacts / f"grading-editor-{size}-{scheme}.png", full_page=False)
        lp.page.add_script_tag(path=str(AXE))
        result = lp.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
               for v in result["violations"]]
        assert bad == [], size


def test_the_form_marks_every_field_the_server_names(lab_page: Any) -> None:
    lp = lab_page
    lp.open("#experiment=pipe.byte_stream")
    lp.page.wait_for_selector(".diagram-body")
    errors = [{"code": "invalid_parameter", "message": "must be 1…65536, not 0", "path": "params.write_sizes[1]"},
              {"code": "invalid_parameter", "message": "must not be empty", "path": "params.read_sizes"}]

    def fake(route: Any) -> None:
        route.fulfill(status=400, content_type="application/json",
                      body=json.dumps({"error": {**errors[0], "errors": errors}}))
    lp.page.route("**/api/v1/runs*", fake)
    lp.page.click("#run")
    lp.page.wait_for_selector("#param-read_sizes-error:not([hidden])")
    assert lp.page.locator("#param-write_sizes-error").inner_text() == "Item 2: must be 1…65536, not 0"
    assert lp.page.locator("#param-read_sizes-error").inner_text() == "must not be empty"
    assert lp.page.locator("#param-write_sizes").get_attribute("aria-invalid") == "true"
