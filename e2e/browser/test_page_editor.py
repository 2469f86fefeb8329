"""'Edit as scenario': the editor holds the scenario JSON; a server error names and marks its path."""

from __future__ import annotations

import json
from typing import Any


def open_editor(lp: Any, exp_id: str) -> dict[str, Any]:
    lp.open(f"#experiment={exp_id}")
    lp.page.wait_for_selector("#edit-scenario")
    lp.page.click("#edit-scenario")
    lp.page.wait_for_selector("#scenario-text")
    return json.loads(lp.page.locator("#scenario-text").input_value())


def test_editor_starts_from_the_experiments_scenario(lab_page: Any, catalog: dict[str, Any], lab: Any) -> None:
    exp_id = next(iter(catalog))
    scenario = open_editor(lab_page, exp_id)
    assert scenario == lab.get(f"/api/v1/experiments/{exp_id}").json["scenario"]


def test_bad_step_is_marked_at_its_path(lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    scenario = open_editor(lp, exp_id)
    # a read of 0 bytes is out of range (1…1048576); else an unknown field
    target = None
    for pi, proc in enumerate(scenario["processes"]):
        for si, step in enumerate(proc["steps"]):
            if step.get("op") == "read" and "size" in step:
                step["size"] = 0
                target = (f"scenario.processes[{pi}].steps[{si}].size", '"size": 0')
                break
        if target:
            break
    if target is None:
        scenario["processes"][0]["steps"][0]["bogus"] = 1
        target = ("scenario.processes[0].steps[0].bogus", '"bogus": 1')
    lp.page.fill("#scenario-text", json.dumps(scenario, indent=2))
    status, body = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 400, body
    assert body["error"]["path"] == target[0]
    error = lp.page.locator("#scenario-error")
    error.wait_for(state="visible")
    assert target[0] in error.inner_text()
    assert "line" in error.inner_text()
    assert lp.page.locator(".editor-marks mark").inner_text() == target[1]
    # the textarea's selection is the marked text, so the cursor is there too
    selected = lp.page.evaluate("(() => { const t = document.querySelector('#scenario-text'); "
                                "return t.value.slice(t.selectionStart, t.selectionEnd); })()")
    assert selected == target[1]
    lp.page.locator("#editor").screenshot(path=str(artifacts / "editor-error-marked.png"))
    # typing clears the mark
    lp.page.locator("#scenario-text").press("End")
    lp.page.locator("#scenario-text").type(" ")
    assert lp.count(".editor-marks mark") == 0


def test_invalid_json_is_caught_with_its_position(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    open_editor(lp, next(iter(catalog)))
    posts: list[str] = []
    lp.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    lp.page.fill("#scenario-text", '{\n  "channels": [],\n  "processes": [,]\n}')
    lp.page.click("#scenario-run")
    error = lp.page.locator("#scenario-error")
    error.wait_for(state="visible")
    assert "line 3" in error.inner_text()
    assert posts == []


def test_edited_scenario_runs(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    scenario = open_editor(lp, next(iter(catalog)))
    scenario["processes"][0]["steps"].insert(0, {"op": "sleep", "ms": 1})
    lp.page.fill("#scenario-text", json.dumps(scenario))
    status, trace = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 200, trace
    lp.wait_for_diagram(trace)
    assert trace["scenario"]["processes"][0]["steps"][0]["op"] == "sleep"
    assert lp.count(".diagram-body .lifeline") == len(trace["processes"])
