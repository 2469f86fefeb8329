"""The C editor does what the API's `programs` allow (issue #19, the page): each program's `args`
(shell-like words, the list to be sent shown) and `stdin`, with the server's limits from its
openapi.yaml; the server's validation errors beside the field their path names; several programs in
one run; a run's link carries its programs so that "Run again" works from it.

Everything here runs on the real server and compiler, except where a test says it stubs a request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ECHO = r"""#include <stdio.h>
#include <string.h>

/* Prints its argv, then each line of its standard input, so a test can see both arrive. */
int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
    char line[256];
    while (fgets(line, sizeof line, stdin)) printf("stdin: %s", line);
    return 0;
}
"""

SOCKET = "c.socket_server_client"


def open_blank(lp: Any) -> None:
    lp.open()
    lp.page.click("#c-gallery-details summary")
    lp.page.click("#c-blank")
    lp.page.wait_for_selector("#c-editor:not([hidden]) .c-source")


def shown(lp: Any, trace: dict[str, Any]) -> None:
    """Wait until the page shows `trace` (the echo program makes no IPC call: its diagram may be empty)."""
    lp.page.wait_for_function("id => document.querySelector('#results').dataset.runId === id",
                              arg=trace["run"]["id"], timeout=10_000)


def posted(request: Any) -> dict[str, Any]:
    return json.loads(request.post_data or "null")


def test_args_and_stdin_reach_the_program(lab_page: Any, artifacts: Path) -> None:
    lp = lab_page
    open_blank(lp)
    lp.page.fill("#c-name-0", "echo")
    lp.page.fill("#c-source-0", ECHO)
    lp.page.fill("#c-args-0", """-n 3 "two words" 'it''s' a\\ b ''""")
    # the exact list that will be sent, and the server's limits from its openapi.yaml
    sent_text = lp.page.locator("#c-args-0-sent").inner_text()
    expected_args = ["-n", "3", "two words", "its", "a b", ""]
    assert json.dumps(expected_args) in sent_text, sent_text
    lp.page.wait_for_function("() => /of at most 32 arguments/.test(document.querySelector('#c-args-0-sent').textContent)")
    assert 'argv[0] is "echo"' in sent_text and "1,024 bytes" in lp.page.locator("#c-args-0-sent").inner_text()
    assert lp.page.locator("#c-source-0-size").inner_text() == f"{len(ECHO.encode()):,} of at most 65,536 bytes"
    lp.page.fill("#c-stdin-0", "first line\nsecond line\n")
    assert "23 of at most 65,536 bytes" in lp.page.locator("#c-stdin-0-hint").inner_text()
    with lp.page.expect_request(lambda r: r.url.endswith("/api/v1/runs") and r.method == "POST") as req:
        status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    body = posted(req.value)
    assert body["programs"][0]["args"] == expected_args
    assert body["programs"][0]["stdin"] == "first line\nsecond line\n"
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    shown(lp, trace)
    want = ("argc=7\nargv[0]=[echo]\nargv[1]=[-n]\nargv[2]=[3]\nargv[3]=[two words]\nargv[4]=[its]\nargv[5]=[a b]\n"
            "argv[6]=[]\nstdin: first line\nstdin: second line\n")
    assert next(p for p in trace["processes"] if p["name"] == "echo")["stdout"] == want
    assert lp.page.locator(".c-proc[data-process='echo'] pre.stdout").text_content() == want
    lp.page.locator("#c-args-0").scroll_into_view_if_needed()
    lp.shot(artifacts / "c-programs-args-stdin.png", full_page=False)


def test_unsplittable_args_are_not_sent(lab_page: Any) -> None:
    lp = lab_page
    open_blank(lp)
    posts: list[str] = []
    lp.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    lp.page.fill("#c-args-0", "one 'two")
    assert "never closed" in lp.page.locator("#c-args-0-sent").inner_text()
    lp.page.click("#c-run")
    err = lp.page.locator("#c-args-0-error")
    err.wait_for(state="visible")
    assert "single quote at character 5 is never closed" in err.inner_text()
    assert lp.page.locator("#c-args-0").get_attribute("aria-invalid") is not None
    assert lp.page.evaluate("document.activeElement.id") == "c-args-0"
    assert "Not run" in lp.page.locator("#banner").inner_text()
    assert posts == []
    # typing clears the mark
    lp.page.fill("#c-args-0", "one 'two'")
    assert lp.page.locator("#c-args-0-error").is_hidden()


@pytest.mark.parametrize("field,path,fill", [
    ("args", "programs[1].args[1]", lambda lp: lp.page.fill("#c-args-1", "ok " + "x" * 1025)),
    ("stdin", "programs[1].stdin", lambda lp: lp.page.fill("#c-stdin-1", "y" * 65537)),
    ("name", "programs[1].name", lambda lp: lp.page.fill("#c-name-1", "main")),
], ids=["args", "stdin", "name"])
def test_a_validation_error_lands_by_its_field(lab_page: Any, artifacts: Path, field: str, path: str, fill: Any) -> None:
    """Over a limit the page says so and still sends (the server decides); its error, named by path,
    is shown beside that field of the second program, whose tab is selected."""
    lp = lab_page
    open_blank(lp)
    lp.page.click("#c-add")
    fill(lp)
    if field == "args":
        assert "argument 2 is 1,025 bytes" in lp.page.locator("#c-args-1-sent").inner_text()
    lp.page.click("#c-tab-0")
    status, answer = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    assert status == 400 and answer["error"]["path"] == path, answer
    control = {"args": "#c-args-1", "stdin": "#c-stdin-1", "name": "#c-name-1"}[field]
    err = lp.page.locator(f"{control}-error")
    err.wait_for(state="visible")
    assert answer["error"]["message"] in err.inner_text()
    if field == "args":
        assert err.inner_text().startswith("Argument 2 (")
    assert lp.page.locator(control).get_attribute("aria-invalid") is not None
    assert lp.page.locator("#c-tab-1").get_attribute("aria-selected") == "true"
    assert lp.page.locator("#c-pane-1").is_visible()
    assert lp.page.evaluate("document.activeElement.id") == control[1:]
    # no other field took it
    assert lp.page.locator(".c-pane .field-error:not([hidden])").count() == 1
    assert "see the marked field" in lp.page.locator("#banner").inner_text()
    lp.page.locator(control).scroll_into_view_if_needed()
    lp.shot(artifacts / f"c-programs-error-{field}.png", full_page=False)


def test_two_programs_run_together_and_the_link_runs_them_again(lab_page: Any, make_lab_page: Any) -> None:
    lp = lab_page
    lp.open()
    lp.page.click("#c-gallery-details summary")
    lp.page.click(f".c-card[data-program='{SOCKET}']")
    lp.page.wait_for_selector("#c-editor:not([hidden]) .c-source")
    assert lp.page.locator(".c-tab").all_inner_texts() == ["server.c", "client.c"]
    lp.page.click("#c-tab-1")
    lp.page.fill("#c-args-1", "--verbose")
    lp.page.fill("#c-stdin-1", "unused\n")
    with lp.page.expect_request(lambda r: r.url.endswith("/api/v1/runs") and r.method == "POST") as req:
        status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    body = posted(req.value)
    assert [(p["name"], p["args"], p["stdin"]) for p in body["programs"]] == [("server", [], ""), ("client", ["--verbose"], "unused\n")]
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    lp.wait_for_diagram(trace)
    names = {p["name"] for p in trace["processes"]}
    assert {"server", "client"} <= names
    # both programs' processes are in the diagram and in the output panel, each with what it printed
    assert lp.count(".diagram-body .lifeline") == len(trace["processes"])
    for who in ("server", "client"):
        out = next(p for p in trace["processes"] if p["name"] == who)["stdout"]
        assert out and lp.page.locator(f".c-proc[data-process='{who}'] pre.stdout").text_content() == out
    # the link names the stored run and carries the programs: opened elsewhere it runs nothing,
    # holds the same programs, and "Run again" sends them
    link = lp.page.evaluate("location.href")
    assert link.split("#")[1].startswith(f"run={trace['run']['id']}&programs=")
    assert lp.page.input_value("#share-url") == link
    other = make_lab_page()
    posts: list[Any] = []
    other.page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    other.page.goto(link)
    other.wait_for_diagram(trace)
    assert posts == []
    assert other.page.locator(".c-tab").all_inner_texts() == ["server.c", "client.c"]
    assert other.page.input_value("#c-source-1") == body["programs"][1]["source"]
    assert other.page.input_value("#c-args-1") == "--verbose"
    assert other.page.input_value("#c-stdin-1") == "unused\n"
    assert other.page.locator(".c-proc[data-process='client'] pre.stdout").text_content() == \
        next(p for p in trace["processes"] if p["name"] == "client")["stdout"]
    assert other.page.locator("#run-again").is_enabled()
    status, again = other.run_and_capture(lambda: other.page.click("#run-again"))
    assert status == 200 and again["run"]["id"] != trace["run"]["id"] and again["run"]["outcome"] == "ok", again["run"]
    assert posted(posts[0])["programs"] == body["programs"]
    other.wait_for_diagram(again)
    assert other.page.evaluate("location.hash").startswith(f"#run={again['run']['id']}&programs=")


def test_a_link_without_a_run_compiles_and_runs_its_programs(lab_page: Any, make_lab_page: Any) -> None:
    """A recipe link (programs, no run id) opens the editor with them and runs them; a mangled one says so."""
    lp = lab_page
    open_blank(lp)
    lp.page.fill("#c-name-0", "echo")
    lp.page.fill("#c-source-0", ECHO)
    lp.page.fill("#c-args-0", "hi")
    lp.page.fill("#c-stdin-0", "there\n")
    lp.page.fill("#c-wall_ms", "3000")
    status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    shown(lp, trace)
    recipe = lp.page.evaluate("location.hash").split("&", 1)[1]
    assert recipe.startswith("programs=") and recipe.endswith("&wall_ms=3000")
    other = make_lab_page()
    status, again = other.run_and_capture(lambda: other.page.goto(f"{other.base_url}#{recipe}"))
    assert status == 200 and again["run"]["outcome"] == "ok", again["run"]
    shown(other, again)
    assert other.page.input_value("#c-wall_ms") == "3000"
    assert other.page.locator(".c-proc[data-process='echo'] pre.stdout").text_content() == \
        "argc=2\nargv[0]=[echo]\nargv[1]=[hi]\nstdin: there\n"
    other.page.goto(f"{other.base_url}#programs=not-deflated")
    other.page.wait_for_function("() => /could not be decoded/.test(document.querySelector('#banner').textContent)")


def test_an_example_with_default_args_and_stdin_fills_its_fields_and_they_arrive(lab_page: Any, artifacts: Path) -> None:
    """An example whose programs take arguments and standard input (GET /api/v1/programs lists their defaults):
    choosing it fills the fields, the run sends them, and its processes' stdout shows they arrived."""
    lp = lab_page
    listed = lp.page.request.get(lp.base_url + "api/v1/programs").json()
    entry = next(e for e in listed["programs"] if e["id"] == "c.pipe_filter")
    program = entry["programs"][0]
    assert program["args"] == ["upper", "2"] and program["stdin"].startswith("hello from stdin\n"), program
    lp.open()
    lp.page.click("#c-gallery-details summary")
    lp.page.click(".c-card[data-program='c.pipe_filter']")
    lp.page.wait_for_selector("#c-editor:not([hidden]) .c-source")
    assert lp.page.input_value("#c-args-0") == "upper 2"
    assert lp.page.input_value("#c-stdin-0") == program["stdin"]
    assert '["upper", "2"]' in lp.page.locator("#c-args-0-sent").inner_text()
    with lp.page.expect_request(lambda r: r.url.endswith("/api/v1/runs") and r.method == "POST") as req:
        status, trace = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    body = posted(req.value)
    assert (body["programs"][0]["args"], body["programs"][0]["stdin"]) == (["upper", "2"], program["stdin"])
    assert status == 200 and trace["run"]["outcome"] == "ok", trace["run"]
    lp.wait_for_diagram(trace)
    # the child printed the first two stdin lines transformed by argv[1], and no third (argv[2] is 2)
    child = "child: 1: HELLO FROM STDIN\nchild: 2: SECOND LINE\nchild: end of file after 2 lines\n"
    assert next(p for p in trace["processes"] if p["name"] == "filter.1")["stdout"] == child
    assert lp.page.locator(".c-proc[data-process='filter.1'] pre.stdout").text_content() == child
    assert "sent 2 lines" in lp.page.locator(".c-proc[data-process='filter'] pre.stdout").text_content()
    # other arguments typed in the field are what the program gets
    lp.page.fill("#c-args-0", "reverse")
    status, again = lp.run_and_capture(lambda: lp.page.click("#c-run"))
    assert status == 200 and again["run"]["outcome"] == "ok", again["run"]
    lp.wait_for_diagram(again)
    out = next(p for p in again["processes"] if p["name"] == "filter.1")["stdout"]
    assert "child: 1: nidts morf olleh\n" in out and "end of file after 3 lines" in out, out
    lp.page.locator("#c-args-0").scroll_into_view_if_needed()
    lp.shot(artifacts / "c-programs-example-defaults.png", full_page=False)
