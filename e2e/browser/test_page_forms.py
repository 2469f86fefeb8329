"""The parameter form: server validation errors beside their field, others in the banner."""

from __future__ import annotations

from typing import Any


def bounded_param(catalog: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An experiment with an integer or integer_array parameter that has a minimum."""
    for exp_id, exp in catalog.items():
        for p in exp["parameters"]:
            if p["type"] in ("integer", "integer_array") and p.get("minimum") is not None:
                return exp_id, p
    raise AssertionError("no experiment has a bounded integer parameter to test with")


def test_out_of_range_parameter_shows_its_error_beside_the_field(lab_page: Any, catalog: dict[str, Any],
                                                                  artifacts: Any) -> None:
    exp_id, p = bounded_param(catalog)
    lp = lab_page
    lp.open_and_capture(f"#experiment={exp_id}")
    field = lp.page.locator(f"#param-{p['name']}")
    bad = p["minimum"] - 1
    if p["type"] == "integer_array":
        good = p["default"] or [p["minimum"]]
        value = ", ".join(str(v) for v in [*good[:2], bad])
        index = min(2, len(good[:2]))
    else:
        value, index = str(bad), None
    field.fill(value)
    status, body = lp.run_and_capture(lambda: lp.page.click("#run"))
    assert status == 400, body
    err = body["error"]
    want_path = f"params.{p['name']}" + (f"[{index}]" if index is not None else "")
    assert err["path"] == want_path
    box = lp.page.locator(f"[data-field='params.{p['name']}'] .field-error")
    box.wait_for(state="visible")
    assert err["message"] in box.inner_text()
    if index is not None:
        assert f"Item {index + 1}" in box.inner_text()
    assert field.get_attribute("aria-invalid") == "true"
    # the error is announced and described by the field; focus went to it
    assert box.get_attribute("id") in field.get_attribute("aria-describedby")
    assert lp.page.evaluate("document.activeElement.id") == f"param-{p['name']}"
    # only that field is marked
    assert lp.count(".field.invalid") == 1
    assert "outcome-error" in lp.page.locator("#banner").get_attribute("class")
    lp.shot(artifacts / "form-error-beside-field.png", full_page=False)

    # fixing it clears the error and runs
    field.fill(", ".join(str(v) for v in p["default"]) if isinstance(p["default"], list) else str(p["minimum"]))
    status, trace = lp.run_and_capture(lambda: lp.page.click("#run"))
    assert status == 200
    lp.wait_for_diagram(trace)
    assert lp.count(".field.invalid") == 0


def test_time_limit_error_goes_beside_the_time_limit(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    exp_id = next(iter(catalog))
    # the link runs the preset once by itself; let that run finish so it is not taken for ours
    lp.open_and_capture(f"#experiment={exp_id}")
    lp.page.fill("#limit-wall_ms", "0")
    status, body = lp.run_and_capture(lambda: lp.page.click("#run"))
    assert status == 400 and body["error"]["path"] == "limits.wall_ms", body
    assert lp.page.locator("[data-field='limits.wall_ms'] .field-error").is_visible()


def test_text_in_a_number_list_is_caught_before_sending(lab_page: Any, catalog: dict[str, Any]) -> None:
    exp_id, p = next(((e, p) for e, x in catalog.items() for p in x["parameters"] if p["type"] == "integer_array"),
                     (None, None))
    assert exp_id, "no integer_array parameter in the catalog"
    lp = lab_page
    lp.open_and_capture(f"#experiment={exp_id}")
    posts: list[str] = []
    lp.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    lp.page.fill(f"#param-{p['name']}", "10, ten")
    lp.page.click("#run")
    box = lp.page.locator(f"[data-field='params.{p['name']}'] .field-error")
    box.wait_for(state="visible")
    assert '"ten"' in box.inner_text()
    assert posts == []


def test_unknown_experiment_in_the_link_is_a_banner(lab_page: Any) -> None:
    lp = lab_page
    lp.open("#experiment=no.such.experiment")
    banner = lp.page.locator("#banner")
    banner.wait_for(state="visible")
    assert "no.such.experiment" in banner.inner_text()


def test_every_parameter_type_has_a_field_that_sends_its_type(lab_page: Any, catalog: dict[str, Any]) -> None:
    """Each type the catalog uses (and a few it may use next: number, string_array, a choice list)
    gets a field, and the request carries the value in that type."""
    import json
    base = next(iter(catalog.values()))
    fake = {**base, "id": "types.all", "mechanism": base["mechanism"], "title": "Every parameter type", "parameters": [
        {"name": "n", "type": "integer", "default": 3, "minimum": 1, "maximum": 9, "description": "an integer"},
        {"name": "sizes", "type": "integer_array", "default": [1, 2], "minimum": 1, "maximum": 9,
         "min_items": 1, "max_items": 4, "description": "integers"},
        {"name": "on", "type": "boolean", "default": False, "description": "a flag"},
        {"name": "text", "type": "string", "default": "hi", "max_length": 10, "description": "text"},
        {"name": "ratio", "type": "number", "default": 0.5, "description": "a number"},
        {"name": "words", "type": "string_array", "default": ["a", "b"], "description": "words"},
        {"name": "kind", "type": "string", "enum": ["stream", "dgram"], "default": "stream", "description": "a choice"},
    ]}
    seen_types = {p["type"] for x in catalog.values() for p in x["parameters"]}
    assert seen_types <= {p["type"] for p in fake["parameters"]}, f"a catalog type this test does not cover: {seen_types}"
    lp = lab_page
    lp.page.route("**/api/v1/experiments", lambda r: r.fulfill(
        status=200, content_type="application/json; charset=utf-8",
        body=json.dumps({"experiments": [*catalog.values(), fake]})))
    lp.page.route("**/api/v1/runs", lambda r: r.fulfill(
        status=400, content_type="application/json; charset=utf-8",
        body=json.dumps({"error": {"code": "invalid_params", "message": "no such experiment", "path": "params.ratio"}})))
    lp.open()
    lp.page.click(".card[data-experiment='types.all']")
    for p in fake["parameters"]:
        assert lp.count(f"#param-{p['name']}") == 1, p["name"]
    assert lp.page.locator("#param-kind").evaluate("e => e.tagName") == "SELECT"
    lp.page.fill("#param-ratio", "0.25")
    lp.page.fill("#param-words", "x, y z")
    lp.page.select_option("#param-kind", "dgram")
    lp.page.check("#param-on")
    with lp.page.expect_request(lambda r: r.url.endswith("/api/v1/runs") and r.method == "POST") as info:
        lp.page.click("#run")
    sent = json.loads(info.value.post_data)["params"]
    assert sent == {"n": 3, "sizes": [1, 2], "on": True, "text": "hi", "ratio": 0.25, "words": ["x", "y z"], "kind": "dgram"}
    # the server's error lands beside the field it names
    box = lp.page.locator("[data-field='params.ratio'] .field-error")
    box.wait_for(state="visible")
    assert "no such experiment" in box.inner_text()
    assert lp.count(".field.invalid") == 1


def test_corrections_to_the_notes_show_beside_the_claim(lab_page: Any, catalog: dict[str, Any]) -> None:
    lp = lab_page
    lp.open_and_capture("#experiment=pipe.capacity")
    box = lp.page.locator("#exp-corrections")
    assert box.is_visible()
    text = box.inner_text()
    [c] = catalog["pipe.capacity"]["corrections"]
    assert f"Note {c['note']} says:" in text and c["kernel"] in text and c["observation"] in text, text
    lp.open_and_capture("#experiment=pipe.hello")
    assert not catalog["pipe.hello"]["corrections"]
    assert lp.page.locator("#exp-corrections").is_hidden()
