"""End-to-end fixtures: one `ipclab serve` for the session (see harness.py), a client that checks every
response against openapi.yaml, and the catalog."""

from __future__ import annotations

import signal
from typing import Any, Iterator

import pytest

from harness import STOP_TIMEOUT_S, Lab, Server, start_server
from postgres import Postgres


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = start_server()
    yield srv
    status = srv.stop(signal.SIGTERM)
    assert status is not None, f"ipclab serve did not exit within {STOP_TIMEOUT_S} s of SIGTERM"
    assert status == 0, f"ipclab serve exited with status {status} after SIGTERM\n{srv.stderr_tail()}"


@pytest.fixture(scope="session")
def lab(server: Server) -> Lab:
    return Lab(server)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of the tests' own (see postgres.py), started when a test first asks for it."""
    cluster = Postgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def catalog(lab: Lab) -> dict[str, dict[str, Any]]:
    """The experiments by id, as GET /api/v1/experiments lists them."""
    r = lab.get("/api/v1/experiments")
    assert r.status == 200, r.body[:500]
    return {e["id"]: e for e in r.json["experiments"]}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.failed and "server" in getattr(item, "funcargs", {}):
        srv: Server = item.funcargs["server"]
        report.sections.append(("ipclab serve stderr (last lines)", srv.stderr_tail()))
    elif report.failed and "lab" in getattr(item, "funcargs", {}):
        srv = item.funcargs["lab"].server
        report.sections.append(("ipclab serve stderr (last lines)", srv.stderr_tail()))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A skipped end-to-end test is a test that did not run: it must not turn the suite green.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"ERROR: {len(skipped)} e2e test(s) skipped; every e2e test must run", red=True)
        session.exitstatus = 1
