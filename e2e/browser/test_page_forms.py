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
    lp.open(f"#experiment={exp_id}")
    lp.page.wait_for_selector(f"#param-{p['name']}")
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
    lp.open(f"#experiment={exp_id}")
    lp.page.wait_for_selector("#limit-wall_ms")
    lp.page.fill("#limit-wall_ms", "0")
    status, body = lp.run_and_capture(lambda: lp.page.click("#run"))
    assert status == 400 and body["error"]["path"] == "limits.wall_ms", body
    assert lp.page.locator("[data-field='limits.wall_ms'] .field-error").is_visible()


def test_text_in_a_number_list_is_caught_before_sending(lab_page: Any, catalog: dict[str, Any]) -> None:
    exp_id, p = next(((e, p) for e, x in catalog.items() for p in x["parameters"] if p["type"] == "integer_array"),
                     (None, None))
    assert exp_id, "no integer_array parameter in the catalog"
    lp = lab_page
    lp.open(f"#experiment={exp_id}")
    lp.page.wait_for_selector(f"#param-{p['name']}")
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
