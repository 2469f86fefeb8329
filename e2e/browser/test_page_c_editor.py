"""The C editor (issue #19): the gallery of example programs from GET /api/v1/programs, one textarea with
line numbers per program, compile errors from run.diagnostics marked on their lines, each process's
stdout/stderr shown with the usual views; axe-core finds nothing; a 375 px phone fits.

The runs the page posts are answered with hand-made traces here (the page is under test, not the
compiler); a program's real run through the page is in test_c_program_runs_for_real."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from labpage import DESKTOP, PHONE, fixture_json

SOCKET = "c.socket_server_client"


@pytest.fixture(scope="module")
def programs(lab: Any) -> list[dict[str, Any]]:
    r = lab.get("/api/v1/programs")
    assert r.status == 200
    return r.json["programs"]


def compile_error_trace() -> dict[str, Any]:
    t = fixture_json("pipe-hello.json")
    t["run"].update(id="c-compile-1", experiment=None, outcome="compile_error", reason="client did not compile",
                    diagnostics=[
                        {"program": "client", "line": 5, "column": 12, "severity": "error", "message": "expected ';' before 'int'"},
                        {"program": "client", "line": 9, "column": 1, "severity": "warning", "message": "unused variable 'x'"},
                        {"program": "server", "line": 3, "column": 10, "severity": "error", "message": "stdio.hh: No such file or directory"},
                    ])
    t.update(processes=[], events=[], transfers=[], objects=[], observations=[])
    return t


def program_trace() -> dict[str, Any]:
    """pipe.hello's trace as if two C programs had made it: each process with its captured output."""
    t = fixture_json("pipe-hello.json")
    t["run"].update(id="c-run-1", experiment=None, tracer="interposer")
    t["processes"][0].update(stdout="parent read 21 bytes: hello from the child\n<b>not markup</b>\n", stderr="", truncated=False)
    t["processes"][1].update(stdout="", stderr="child: a warning on stderr\n", truncated=True)
    return t


def stub(page: Any, trace: dict[str, Any], sent: list[Any]) -> None:
    def handle(route: Any) -> None:
        sent.append(json.loads(route.request.post_data or "null"))
        route.fulfill(status=200, content_type="application/json; charset=utf-8", body=json.dumps(trace))
    page.route("**/api/v1/runs", handle)


def open_example(lp: Any, entry_id: str) -> None:
    lp.open()
    lp.page.click("#c-gallery-details summary")
    lp.page.click(f".c-card[data-program='{entry_id}']")
    lp.page.wait_for_selector("#c-editor:not([hidden]) .c-source")


def test_gallery_lists_every_example_and_opens_its_programs(lab_page: Any, programs: list[dict[str, Any]]) -> None:
    lp = lab_page
    open_example(lp, SOCKET)
    assert lp.count(".c-card") == len(programs)
    # the experiments' cards are not counted among them (the catalog's tests count .card)
    assert lp.count(".gallery-pane .card[data-program]") == 0
    entry = next(p for p in programs if p["id"] == SOCKET)
    assert lp.page.locator("#exp-title").inner_text() == entry["title"]
    tabs = lp.page.locator(".c-tab")
    assert tabs.all_inner_texts() == ["server.c", "client.c"]
    assert lp.page.input_value("#c-source-0") == entry["programs"][0]["source"]
    assert lp.page.input_value("#c-source-1") == entry["programs"][1]["source"]
    # one line number per line of the source
    lines = entry["programs"][0]["source"].count("\n") + 1
    assert lp.count("#c-pane-0 .c-ln") == lines
    # the second tab shows the client, by click and by arrow key
    tabs.nth(1).click()
    assert lp.page.locator("#c-pane-1").is_visible() and not lp.page.locator("#c-pane-0").is_visible()
    lp.page.keyboard.press("ArrowLeft")
    assert lp.page.locator("#c-pane-0").is_visible()
    # typing keeps the numbers in step
    lp.page.fill("#c-source-0", "int main(void)\n{\n  return 0;\n}")
    lp.page.dispatch_event("#c-source-0", "input")
    assert lp.count("#c-pane-0 .c-ln") == 4


def test_compile_errors_are_marked_on_their_lines(lab_page: Any, artifacts: Path) -> None:
    lp = lab_page
    sent: list[Any] = []
    stub(lp.page, compile_error_trace(), sent)
    open_example(lp, SOCKET)
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#c-diagnostics:not([hidden])")
    # what was posted: both programs, named, in C, as the API takes them
    assert [p["name"] for p in sent[0]["programs"]] == ["server", "client"]
    assert all(p["language"] == "c" and p["source"] and p["args"] == [] and p["stdin"] == "" for p in sent[0]["programs"])
    banner = lp.page.locator("#banner").inner_text()
    assert "Did not compile" in banner and "2 errors, 1 warning" in banner
    assert lp.page.locator("#results").is_hidden()
    # the first error's program (the client) is shown, the caret on its line
    assert lp.page.locator("#c-tab-1").get_attribute("aria-selected") == "true"
    assert lp.page.locator("#c-pane-1").is_visible() and lp.page.locator("#c-pane-0").is_hidden()
    # each error's line is marked in the gutter and behind the text
    err_server = lp.page.locator("#c-pane-0 .c-ln.c-error")
    assert err_server.count() == 1 and err_server.inner_text() == "3"
    assert "stdio.hh" in err_server.get_attribute("title")
    assert lp.page.locator("#c-pane-0 .c-mline").nth(2).get_attribute("class") == "c-mline c-error"
    assert lp.page.locator("#c-source-0").get_attribute("aria-invalid") is not None
    client_marks = lp.page.eval_on_selector_all("#c-pane-1 .c-ln.c-error, #c-pane-1 .c-ln.c-warning",
                                                "els => els.map(e => [e.textContent, e.className])")
    assert client_marks == [["5", "c-ln c-error"], ["9", "c-ln c-warning"]]
    # the tabs count each program's errors
    assert lp.page.locator(".c-tab").all_inner_texts() == ["server.c 1 error", "client.c 1 error"]
    # the list names program:line:column; choosing one shows that program with the caret on the line
    items = lp.page.locator("#c-diagnostics .c-diag")
    assert items.count() == 3
    assert items.nth(0).inner_text().startswith("client.c:5:12 error: expected ';'")
    items.nth(2).click()
    assert lp.page.locator("#c-pane-0").is_visible()
    items.nth(0).click()
    assert lp.page.locator("#c-pane-1").is_visible()
    caret_line = lp.page.evaluate("() => { const t = document.querySelector('#c-source-1'); return t.value.slice(0, t.selectionStart).split('\\n').length; }")
    assert caret_line == 5
    lp.shot(artifacts / "c-editor-compile-error.png")
    # editing and running again clears the marks before the new answer
    lp.page.unroute("**/api/v1/runs")
    stub(lp.page, program_trace(), sent)
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#program-output:not([hidden])")
    assert lp.count(".c-ln.c-error") == 0 and lp.page.locator("#c-diagnostics").is_hidden()


def test_each_process_output_is_shown_with_the_trace(lab_page: Any, artifacts: Path) -> None:
    lp = lab_page
    sent: list[Any] = []
    stub(lp.page, program_trace(), sent)
    open_example(lp, "c.pipe_parent_child")
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#program-output:not([hidden])")
    lp.page.wait_for_selector(".diagram-body")
    assert sent[0]["programs"][0]["name"] == "pipe"
    parent = lp.page.locator(".c-proc[data-process='parent']")
    assert "pid 2" in parent.locator("h3").inner_text() and "exited with code 0" in parent.locator("h3").inner_text()
    # text, not markup
    assert parent.locator("pre.stdout").text_content() == "parent read 21 bytes: hello from the child\n<b>not markup</b>\n"
    assert parent.locator("pre.stdout b").count() == 0
    assert parent.locator("pre.stderr").count() == 0
    child = lp.page.locator(".c-proc[data-process='child']")
    assert "child of parent" in child.locator("h3").inner_text()
    assert child.locator("pre.stderr").text_content() == "child: a warning on stderr\n"
    assert "(nothing)" in child.inner_text() and "was cut" in child.inner_text()
    assert lp.page.evaluate("location.hash").startswith("#run=c-run-1&programs=")
    lp.shot(artifacts / "c-editor-output.png")
    # a preset's run has no program output
    lp.page.unroute("**/api/v1/runs")
    lp.page.click(".card[data-experiment='pipe.hello']")
    lp.page.click("#run")
    lp.page.wait_for_function("() => document.querySelector('#results').dataset.runId && document.querySelector('#results').dataset.runId !== 'c-run-1'")
    assert lp.page.locator("#program-output").is_hidden()
    assert lp.page.locator("#c-editor").is_hidden()


def test_add_and_remove_programs(lab_page: Any) -> None:
    lp = lab_page
    sent: list[Any] = []
    stub(lp.page, program_trace(), sent)
    lp.open()
    lp.page.click("#c-gallery-details summary")
    lp.page.click("#c-blank")
    assert lp.page.locator("#c-name-0").input_value() == "main"
    assert lp.page.locator(".c-tabs").is_hidden()
    lp.page.click("#c-add")
    assert lp.page.locator(".c-tab").all_inner_texts() == ["main.c", "program2.c"]
    lp.page.fill("#c-name-1", "worker")
    assert lp.page.locator(".c-tab").all_inner_texts() == ["main.c", "worker.c"]
    lp.page.click("#c-wall_ms")
    lp.page.fill("#c-wall_ms", "3000")
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#program-output:not([hidden])")
    assert [p["name"] for p in sent[-1]["programs"]] == ["main", "worker"]
    assert sent[-1]["limits"] == {"wall_ms": 3000}
    lp.page.click("#c-remove")
    assert lp.page.locator(".c-tabs").is_hidden() and lp.count(".c-pane") == 1


AXE = None
try:
    import axe_playwright_python as _axe_pkg  # ships axe.min.js (axe-core); nothing is fetched
    AXE = Path(_axe_pkg.__file__).parent / "axe.min.js"
except ImportError:
    pass


@pytest.mark.parametrize("viewport,scheme", [(DESKTOP, "light"), (DESKTOP, "dark"), (PHONE, "light"), (PHONE, "dark")],
                         ids=["desktop-light", "desktop-dark", "phone-light", "phone-dark"])
def test_axe_and_phone_width(make_lab_page: Any, artifacts: Path, viewport: dict[str, int], scheme: str) -> None:
    if AXE is None:
        pytest.fail("the accessibility scan needs axe-playwright-python (e2e/browser/requirements.txt)", pytrace=False)
    lp = make_lab_page(viewport=viewport, scheme=scheme)
    sent: list[Any] = []
    stub(lp.page, compile_error_trace(), sent)
    open_example(lp, SOCKET)
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#c-diagnostics:not([hidden])")
    lp.page.add_script_tag(path=str(AXE))

    def violations() -> list[str]:
        r = lp.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}" for v in r["violations"]]

    assert violations() == []
    assert lp.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    lp.page.locator("#c-editor").scroll_into_view_if_needed()
    lp.shot(artifacts / f"c-editor-errors-{viewport['width']}-{scheme}.png", full_page=False)
    lp.page.unroute("**/api/v1/runs")
    stub(lp.page, program_trace(), sent)
    lp.page.click("#c-run")
    lp.page.wait_for_selector("#program-output:not([hidden])")
    lp.page.wait_for_selector(".diagram-body")
    assert violations() == []
    assert lp.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    lp.page.locator("#program-output").scroll_into_view_if_needed()
    lp.shot(artifacts / f"c-editor-output-{viewport['width']}-{scheme}.png", full_page=False)


def test_c_program_runs_for_real(lab_page: Any, make_lab_page: Any, artifacts: Path) -> None:
    """On the real server: an example compiles and runs, its output shown with the diagram; a line broken
    on purpose comes back from gcc marked where it is."""
    lp = lab_page
    open_example(lp, "c.pipe_parent_child")
    status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    lp.wait_for_diagram(trace)
    out = lp.page.locator(".c-proc[data-process='pipe'] pre.stdout").text_content()
    assert out == next(p for p in trace["processes"] if p["name"] == "pipe")["stdout"]
    assert "hello from the child" in out
    assert lp.count(".diagram-body .lifeline") == len(trace["processes"])
    lp.shot(artifacts / "c-editor-real-run.png")
    # its link shows the stored run with its output, and runs nothing (the sources ride along as the
    # recipe of "Run again": test_page_programs.py); the stored run alone has nothing to run again
    link = lp.page.evaluate("location.href")
    assert link.split("#")[1].startswith(f"run={trace['run']['id']}&programs=")
    link = link.split("&")[0]
    other = make_lab_page()
    posts: list[str] = []
    other.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    other.page.goto(link)
    other.wait_for_diagram(trace)
    assert other.page.locator(".c-proc[data-process='pipe'] pre.stdout").text_content() == out
    assert other.page.locator("#run-again").is_disabled() and posts == []
    # break line 21 (`int fd[2]; …` becomes `int fd[2] …`): gcc's error lands on it
    source = lp.page.input_value("#c-source-0").split("\n")
    assert source[20].strip().startswith("int fd[2];"), source[20]
    source[20] = source[20].replace("int fd[2];", "int fd[2]")
    lp.page.fill("#c-source-0", "\n".join(source))
    status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    assert status == 200 and trace["run"]["outcome"] == "compile_error", trace["run"]
    lp.page.wait_for_selector("#c-diagnostics:not([hidden])")
    lines = {d["line"] for d in trace["run"]["diagnostics"] if d["severity"] == "error"}
    marked = set(map(int, lp.page.eval_on_selector_all("#c-pane-0 .c-ln.c-error", "els => els.map(e => e.textContent)")))
    assert marked == lines and lines, (marked, trace["run"]["diagnostics"])
    assert "Did not compile" in lp.page.locator("#banner").inner_text()
