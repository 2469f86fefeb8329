"""Share links: a recipe link restores the form and runs; a run's own link (#run=ID) is covered in
test_page_stored.py. The trace downloads as valid JSON; Chrome export follows the server."""

from __future__ import annotations

import json
from typing import Any

import expect


def array_experiment(catalog: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for exp_id, exp in catalog.items():
        arrays = [p for p in exp["parameters"] if p["type"] == "integer_array" and p["default"]]
        if arrays:
            return exp_id, arrays[0]
    raise AssertionError("no experiment with an integer_array parameter")


def test_share_url_restores_the_form_and_runs(make_lab_page: Any, catalog: dict[str, Any], artifacts: Any) -> None:
    exp_id, p = array_experiment(catalog)
    first = make_lab_page()
    first.open(f"#experiment={exp_id}")
    # Opening an experiment's link runs it: that run is answered and shown before the form is changed,
    # or its answer could be the one captured after the click below (it failed so in CI once).
    first.page.wait_for_function("() => document.querySelector('.diagram-body') && document.querySelector('#results').dataset.runId",
                                 timeout=20_000)
    first.page.wait_for_selector(f"#param-{p['name']}")
    mine = [max(p.get("minimum") or 1, 3), max(p.get("minimum") or 1, 7)] + list(p["default"][2:])
    first.page.fill(f"#param-{p['name']}", ", ".join(map(str, mine)))
    first.page.fill("#limit-wall_ms", "1500")
    status, trace1 = first.run_and_capture(lambda: first.page.click("#run"))
    assert status == 200, trace1
    first.wait_for_diagram(trace1)
    url = first.page.locator("#share-url").input_value()
    assert url == first.page.url
    assert f"#run={trace1['run']['id']}&" in url
    assert f"experiment={exp_id}" in url and "wall_ms=1500" in url
    # Without its run, the link is the recipe alone: opening it runs it again.
    recipe = url.replace(f"run={trace1['run']['id']}&", "")

    second = make_lab_page()
    status, trace2 = second.run_and_capture(lambda: second.page.goto(recipe))
    assert status == 200, trace2
    second.wait_for_diagram(trace2)
    assert trace2["run"]["id"] != trace1["run"]["id"], "the link must run again, not replay"
    assert trace2["run"]["experiment"] == exp_id
    assert trace2["run"]["limits"]["wall_ms"] == 1500
    restored = second.page.locator(f"#param-{p['name']}").input_value()
    assert [int(x) for x in restored.replace(",", " ").split()] == mine
    assert second.page.locator("#limit-wall_ms").input_value() == "1500"
    assert second.page.locator(f".card[data-experiment='{exp_id}']").get_attribute("aria-current") == "true"
    # the new run's own transfers are drawn
    assert second.count(".diagram-body .transfer") == len(expect.transfers(trace2))
    second.shot(artifacts / "share-restored.png", full_page=False)


def test_back_button_returns_to_the_previous_run(lab_page: Any, catalog: dict[str, Any]) -> None:
    ids = list(catalog)
    if len(ids) < 2:
        return
    lp = lab_page
    t1 = lp.open_and_capture(f"#experiment={ids[0]}")
    lp.page.click(f".card[data-experiment='{ids[1]}']")
    status, t2 = lp.run_and_capture(lambda: lp.page.click("#run"))
    lp.wait_for_diagram(t2)
    # The previous entry names the previous run: going back shows that very run again, fetched, not run.
    with lp.page.expect_response(lambda r: f"/api/v1/runs/{t1['run']['id']}" in r.url and r.request.method == "GET"):
        lp.page.go_back()
    lp.wait_for_diagram(t1)
    assert t1["run"]["experiment"] == ids[0]


def test_download_json_is_the_trace(lab_page: Any, catalog: dict[str, Any], tmp_path: Any) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    trace = lp.open_and_capture(f"#experiment={exp_id}")
    with lp.page.expect_download() as info:
        lp.page.click("#download-json")
    dl = info.value
    assert dl.suggested_filename.endswith(".json") and exp_id in dl.suggested_filename
    path = tmp_path / dl.suggested_filename
    dl.save_as(str(path))
    saved = json.loads(path.read_text())
    assert saved == trace


def test_chrome_button_follows_the_server(lab_page: Any, catalog: dict[str, Any], lab: Any) -> None:
    exp_id = next(iter(catalog))
    offered = lab.session.post(lab.server.base_url + "/api/v1/runs?format=chrome",
                               json={"experiment": exp_id}, timeout=20).status_code == 200
    lp = lab_page
    lp.open_and_capture(f"#experiment={exp_id}")
    button = lp.page.locator("#download-chrome")
    lp.page.wait_for_function("() => document.querySelector('#download-chrome').title.indexOf('Checking') < 0")
    assert button.is_disabled() == (not offered)
    if offered:
        with lp.page.expect_download() as info:
            button.click()
        assert info.value.suggested_filename.endswith(".chrome.json")


def test_scenario_link_runs_the_scenario(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    trace = lp.open_and_capture(f"#experiment={exp_id}")
    lp.page.click("#edit-scenario")
    lp.page.wait_for_selector("#scenario-text")
    status, t2 = lp.run_and_capture(lambda: lp.page.click("#scenario-run"))
    assert status == 200, t2
    lp.wait_for_diagram(t2)
    assert t2["run"]["experiment"] is None
    assert t2["scenario"] == trace["scenario"]
    url = lp.page.url
    assert f"#run={t2['run']['id']}&scenario=" in url
    recipe = url.split("#", 1)[1].replace(f"run={t2['run']['id']}&", "")
    status, t3 = lp.run_and_capture(lambda: lp.page.goto(lp.base_url + "?again#" + recipe))
    lp.wait_for_diagram(t3)
    assert t3["scenario"] == trace["scenario"]
    assert lp.page.locator("#exp-title").inner_text() == "Custom scenario"
