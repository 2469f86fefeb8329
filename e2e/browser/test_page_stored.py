"""Stored runs on the page (issue 17): after a run the address names it (#run=ID); that link shows
exactly that stored trace without running anything; the Chrome export converts the run on screen
(the stored one, by id) and never runs again; "Run again" is its own button and makes a new run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_posts(page: Any) -> list[str]:
    """Every POST /api/v1/runs the page sends from now on (the Chrome-format probe's empty body aside,
    which runs nothing)."""
    posts: list[str] = []

    def seen(request: Any) -> None:
        if "/api/v1/runs" in request.url and request.method == "POST" and (request.post_data or "") != "{}":
            posts.append(request.url)
    page.on("request", seen)
    return posts


def test_a_run_link_shows_that_stored_run_without_running(make_lab_page: Any, catalog: dict[str, Any],
                                                           artifacts: Any) -> None:
    exp_id = "pipe.hello" if "pipe.hello" in catalog else next(iter(catalog))
    first = make_lab_page()
    trace = first.open_and_capture(f"#experiment={exp_id}")
    rid = trace["run"]["id"]
    assert first.page.url.split("#", 1)[1].startswith(f"run={rid}&experiment={exp_id}")
    url = first.page.locator("#share-url").input_value()
    assert url == first.page.url

    second = make_lab_page()
    posts = run_posts(second.page)
    with second.page.expect_response(lambda r: f"/api/v1/runs/{rid}" in r.url and r.request.method == "GET") as got:
        second.page.goto(url)
    assert got.value.status == 200
    assert got.value.json() == trace
    second.wait_for_diagram(trace)
    assert second.page.locator("#results").get_attribute("data-run-id") == rid
    assert second.page.locator(f".card[data-experiment='{exp_id}']").get_attribute("aria-current") == "true"
    assert not second.page.locator("#run-again").is_disabled()
    assert posts == [], f"opening a run's link ran something: {posts}"
    assert second.errors == []
    second.shot(artifacts / "stored-run.png", full_page=False)


def test_the_chrome_export_is_the_run_on_screen_and_runs_nothing(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    trace = lp.open_and_capture(f"#experiment={exp_id}")
    lp.page.wait_for_function("() => !document.querySelector('#download-chrome').disabled")
    posts = run_posts(lp.page)
    with lp.page.expect_download() as info:
        lp.page.click("#download-chrome")
    chrome = json.loads(Path(info.value.path()).read_text())
    assert chrome["otherData"]["run_id"] == trace["run"]["id"]
    assert posts == [], f"the Chrome export ran something: {posts}"
    assert lp.page.locator("#results").get_attribute("data-run-id") == trace["run"]["id"]


def test_run_again_is_its_own_button_and_makes_a_new_named_run(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    first = lp.open_and_capture(f"#experiment={exp_id}")
    status, second = lp.run_and_capture(lambda: lp.page.click("#run-again"))
    assert status == 200, second
    lp.wait_for_diagram(second)
    assert second["run"]["id"] != first["run"]["id"]
    assert second["run"]["experiment"] == exp_id
    assert f"#run={second['run']['id']}&experiment={exp_id}" in lp.page.url
    # The first run is still one step back, and still exactly itself.
    lp.page.go_back()
    lp.wait_for_diagram(first)


def test_a_link_to_a_run_not_stored_says_so_and_runs_nothing(make_lab_page: Any, catalog: dict[str, Any]) -> None:
    exp_id = next(iter(catalog))
    lp = make_lab_page()
    posts = run_posts(lp.page)
    lp.open(f"#run={'0' * 32}&experiment={exp_id}")
    lp.page.wait_for_function("() => /not stored/.test(document.querySelector('#banner').textContent)")
    assert posts == []
    assert lp.page.locator("#results").is_hidden()
