"""A tab on the lab page, and helpers for the browser tests (stubbed runs, fixtures, sizes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


class LabPage:
    """A browser tab on the lab page, with the last trace the page received."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/") + "/"
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)

    def _console(self, msg: Any) -> None:
        # A 4xx the page asked for on purpose (a bad parameter, the Chrome-format probe) logs a
        # "Failed to load resource" line; anything else logged as an error is a defect.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            self.errors.append(f"console: {msg.text}")

    def open(self, fragment: str = "") -> None:
        self.page.goto(self.base_url + fragment)
        self.page.wait_for_selector("body[data-ready=true]", timeout=10_000)

    def _is_run(self, r: Any) -> bool:
        return "/api/v1/runs" in r.url and r.request.method == "POST" and "format=" not in r.url

    def run_and_capture(self, action: Callable[[], None]) -> tuple[int, Any]:
        """Do `action` (which must POST a run) and answer the run's (status, JSON body); for a streamed run
        (NDJSON), the trace of its last line."""
        before = self.page.evaluate("() => document.querySelector('#results')?.dataset.runId || ''")
        with self.page.expect_response(self._is_run, timeout=20_000) as info:
            action()
        r = info.value
        if r.status == 200 and r.headers.get("content-type", "").startswith("application/x-ndjson"):
            # A long run (a measurement) is streamed and read by the page as it comes, so the browser
            # keeps no body to hand back: take the trace the page shows, through its JSON download.
            self.page.wait_for_function(
                "old => { const id = document.querySelector('#results').dataset.runId; return id && id !== old; }",
                arg=before, timeout=20_000)
            with self.page.expect_download() as dl:
                self.page.click("#download-json")
            return r.status, json.loads(Path(dl.value.path()).read_text())
        return r.status, r.json()

    def open_and_capture(self, fragment: str) -> dict[str, Any]:
        status, trace = self.run_and_capture(lambda: self.page.goto(self.base_url + fragment))
        assert status == 200, trace
        self.wait_for_diagram(trace)
        return trace

    def wait_for_diagram(self, trace: dict[str, Any]) -> None:
        self.page.wait_for_function(
            "id => document.querySelector('.diagram-body') && document.querySelector('#results').dataset.runId === id",
            arg=trace["run"]["id"], timeout=10_000)

    def shot(self, path: Path, full_page: bool = True) -> Path:
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()


def stub_runs(page: Any, trace: dict[str, Any]) -> None:
    """Answer POST /api/v1/runs with `trace` (static files and the catalog stay the real server's)."""
    def handle(route: Any) -> None:
        if "format=" in route.request.url:
            route.continue_()
        else:
            route.fulfill(status=200, content_type="application/json; charset=utf-8", body=json.dumps(trace))
    page.route("**/api/v1/runs*", handle)


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())
