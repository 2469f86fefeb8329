"""The server starts on a free port, says where, and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from harness import STOP_TIMEOUT_S, start_server


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_cleanly(sig):
    srv = start_server()
    try:
        assert srv.host == "127.0.0.1"
        assert srv.port > 0
        r = requests.get(srv.base_url + "/healthz", timeout=10)
        assert r.status_code == 200
    finally:
        status = srv.stop(sig)
    assert status is not None, f"ipclab serve did not exit within {STOP_TIMEOUT_S} s of {sig.name}"
    assert status == 0, f"exit status {status} after {sig.name}\n{srv.stderr_tail()}"


def test_two_servers_get_different_ports(server):
    other = start_server()
    try:
        assert other.port != server.port
        assert requests.get(other.base_url + "/healthz", timeout=10).status_code == 200
    finally:
        assert other.stop() == 0


def test_stops_while_a_run_is_blocked(server):
    """SIGTERM during a run that blocks until its wall-clock limit: the server still exits in time."""
    srv = start_server()
    body = {"experiment": "pipe.eof", "params": {"close_unused_ends": False}, "limits": {"wall_ms": 1500}}
    thread = threading.Thread(
        target=lambda: _ignore_errors(lambda: requests.post(srv.base_url + "/api/v1/runs", json=body, timeout=10)),
        daemon=True)
    thread.start()
    time.sleep(0.3)
    status = srv.stop(signal.SIGTERM)
    assert status is not None, f"ipclab serve did not exit within {STOP_TIMEOUT_S} s of SIGTERM during a run"
    assert status == 0, f"exit status {status}\n{srv.stderr_tail()}"
    thread.join(timeout=10)


def _ignore_errors(fn):
    try:
        fn()
    except requests.RequestException:
        pass
