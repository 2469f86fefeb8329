"""Browser fixtures for the lab page: Debian's Chromium driven by Playwright (never a downloaded
browser), pages on the real server from e2e/conftest.py's `server`, screenshots in e2e/artifacts/.

Install: `apt-get install chromium` and `pip install -r e2e/browser/requirements.txt`.
$IPCLAB_CHROMIUM overrides the browser path (default /usr/bin/chromium).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

try:
    from playwright.sync_api import Browser, Page, Response, sync_playwright
except ImportError:  # a missing browser stack fails the browser tests (below), not the whole suite
    sync_playwright = None
    Browser = Page = Response = Any  # type: ignore[misc,assignment]

from labpage import ARTIFACTS, DESKTOP, LabPage

CHROMIUM = os.environ.get("IPCLAB_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("the browser tests need Playwright for Python: pip install -r e2e/browser/requirements.txt",
                    pytrace=False)
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set IPCLAB_CHROMIUM)", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _lab_page(browser: Browser, base_url: str, viewport: dict[str, int], scheme: str) -> Iterator[LabPage]:
    context = browser.new_context(viewport=viewport, color_scheme=scheme, accept_downloads=True)
    page = context.new_page()
    lab_page = LabPage(page, base_url)
    yield lab_page
    context.close()
    assert not lab_page.errors, "the page logged errors:\n" + "\n".join(lab_page.errors)


@pytest.fixture
def lab_page(browser: Browser, server: Any) -> Iterator[LabPage]:
    """The lab page at 1280×800, light scheme, on the real server."""
    yield from _lab_page(browser, server.base_url, DESKTOP, "light")


@pytest.fixture
def make_lab_page(browser: Browser, server: Any) -> Iterator[Callable[..., LabPage]]:
    """Open more tabs: make_lab_page(viewport=PHONE, scheme="dark")."""
    opened: list[tuple[Any, LabPage]] = []

    def make(viewport: dict[str, int] = DESKTOP, scheme: str = "light") -> LabPage:
        context = browser.new_context(viewport=viewport, color_scheme=scheme, accept_downloads=True)
        lp = LabPage(context.new_page(), server.base_url)
        opened.append((context, lp))
        return lp

    yield make
    errors = [e for _, lp in opened for e in lp.errors]
    for context, _ in opened:
        context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)
