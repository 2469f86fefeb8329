"""Admission: slow or stalled clients cannot pin the server, connections per IP are capped, and a run
that waited too long in the queue is answered 503 instead of being run.

Each test starts its own server with small limits (one HTTP thread, short timeouts), so that a client
that could pin a thread or a connection slot would show at once.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from contract import check_response
from harness import Server, read_until_closed, start_server

TIMEOUT_S = 2  # --connection-timeout-s of the servers below
SLEEP_RUN = {"scenario": {"channels": [], "processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": 1500}]}]}}


@pytest.fixture(scope="module")
def strict_server() -> Iterator[Server]:
    """One HTTP thread, 2 s connection timeout, at most 3 connections per IP and no reserve (so a
    fourth is closed at accept; test_http_strict.py tests the reserve's 503s)."""
    srv = start_server("--threads", "1", "--connection-timeout-s", str(TIMEOUT_S), "--max-connections-per-ip", "3",
                       "--connection-reserve-per-ip", "0")
    yield srv
    assert srv.stop() == 0, srv.stderr_tail()


def connect(srv: Server, source: str = "127.0.0.1", rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect((srv.host, srv.port))
    return s


def served_quickly(srv: Server, source: str = "127.0.0.1", limit_s: float = 1.0) -> None:
    """GET /healthz on a new connection (from `source`) answers 200 within `limit_s`."""
    started = time.monotonic()
    s = connect(srv, source)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        data = read_until_closed(s, 5)
    finally:
        s.close()
    elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert elapsed < limit_s, f"/healthz took {elapsed:.2f} s"


def test_stalled_and_slow_uploads_do_not_stop_others(strict_server):
    """Headers then no body, and a body trickled a byte at a time: others are served meanwhile (on the
    server's only HTTP thread), a run still succeeds, and the stalled upload is closed after the timeout."""
    srv = strict_server
    head = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
            b"Content-Length: 400\r\n\r\n")
    stalled = connect(srv)
    stalled.sendall(head + b"{")
    trickle = connect(srv, "127.0.0.2")
    trickle.sendall(head)
    stop = threading.Event()

    def drip() -> None:
        try:
            while not stop.wait(0.3):
                trickle.sendall(b" ")
        except OSError:
            pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        for _ in range(5):
            served_quickly(srv, "127.0.0.3")
        r = requests.post(srv.base_url + "/api/v1/runs", json={"experiment": "pipe.hello"}, timeout=10)
        assert r.status_code == 200
        trace = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
        assert trace["run"]["outcome"] == "ok"
        started = time.monotonic()
        # The stalled upload moves no bytes: closed after the timeout (MHD checks about once a second).
        read_until_closed(stalled, TIMEOUT_S + 4)
        assert time.monotonic() - started < TIMEOUT_S + 4
        # The trickle is not idle, so it is still open, and still holds no thread.
        served_quickly(srv, "127.0.0.3")
    finally:
        stop.set()
        dripper.join(5)
        stalled.close()
        trickle.close()


def test_a_run_longer_than_the_connection_timeout_is_answered(strict_server):
    """The connection timeout is for connections where nothing moves: one waiting for its run (suspended)
    is not cut, even when the run lasts longer than the timeout."""
    body = {"scenario": {"channels": [], "processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": 2 * TIMEOUT_S * 1000}]}]},
            "limits": {"wall_ms": 2 * TIMEOUT_S * 1000 + 2000}}
    r = requests.post(strict_server.base_url + "/api/v1/runs", json=body, timeout=20)
    trace = check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers["content-type"], r.headers)
    assert r.status_code == 200 and trace["run"]["outcome"] == "ok"
    assert r.elapsed.total_seconds() >= 2 * TIMEOUT_S


def test_a_client_that_never_reads_does_not_stop_others(strict_server):
    """A client pipelines many requests for a large document and reads nothing: the server cannot
    write, others are served meanwhile, and the connection is closed after the timeout."""
    srv = strict_server
    size = len(requests.get(srv.base_url + "/openapi.yaml", timeout=10).content)
    count = max(50, (64 << 20) // size)  # far more than the socket buffers can hold
    s = connect(srv, "127.0.0.4", rcvbuf=4096)
    request = b"GET /openapi.yaml HTTP/1.1\r\nHost: lab\r\n\r\n"
    s.settimeout(0.5)
    sent = 0
    try:
        try:
            for _ in range(count):
                s.sendall(request)
                sent += 1
        except (socket.timeout, BlockingIOError):
            pass  # the server stopped reading requests it cannot answer: that is the point
        assert sent > 1
        for _ in range(5):
            served_quickly(srv, "127.0.0.3")
        time.sleep(TIMEOUT_S + 2)
        served_quickly(srv, "127.0.0.3")
        data = read_until_closed(s, 20)
    finally:
        s.close()
    answered = data.count(b"HTTP/1.1 200")
    assert answered < sent, f"the connection got all {sent} answers: it was not closed"
    assert len(data) < sent * size


def test_connections_over_the_per_ip_limit_are_closed(strict_server):
    """Three keep-alive connections from one IP are the most it may hold: a fourth is closed without
    an answer, while the three, and another IP, are still served."""
    srv = strict_server
    source = "127.0.0.5"
    held = [connect(srv, source) for _ in range(3)]
    try:
        for s in held:  # each accepted and answered: the three really are open at once
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        extra = connect(srv, source)
        try:
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert read_until_closed(extra, 5) == b"", "a fourth connection from one IP was answered"
        finally:
            extra.close()
        served_quickly(srv, "127.0.0.6")
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert held[0].recv(65536).startswith(b"HTTP/1.1 200")
        held.pop().close()
        time.sleep(0.2)
        served_quickly(srv, source)  # one closed: room for one more
    finally:
        for s in held:
            s.close()


def test_a_run_that_waits_too_long_is_answered_503():
    """One run thread, 300 ms of queue wait: runs queued behind a 1.5 s run are answered 503 with
    Retry-After soon after 300 ms, without running; the first run is served."""
    srv = start_server("--max-runs", "1", "--run-queue", "4", "--max-queue-wait-ms", "300")
    try:
        results: dict[int, tuple[int, dict[str, str], bytes, float]] = {}

        def post(i: int) -> None:
            started = time.monotonic()
            r = requests.post(srv.base_url + "/api/v1/runs", json=SLEEP_RUN, timeout=15)
            results[i] = (r.status_code, dict(r.headers), r.content, time.monotonic() - started)

        first = threading.Thread(target=post, args=(0,))
        first.start()
        time.sleep(0.3)
        others = [threading.Thread(target=post, args=(i,)) for i in (1, 2)]
        for t in others:
            t.start()
        for t in [first, *others]:
            t.join(20)
        status, headers, body, _ = results[0]
        assert status == 200, body[:300]
        for i in (1, 2):
            status, headers, body, elapsed = results[i]
            value = check_response("POST", "/api/v1/runs", status, body, headers.get("Content-Type"), headers)
            assert status == 503 and value["error"]["code"] == "unavailable", body[:300]
            assert "waited" in value["error"]["message"]
            assert int(headers["Retry-After"]) >= 1
            assert 0.25 < elapsed < 1.2, f"answered after {elapsed:.2f} s, not soon after the 300 ms wait"
        metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
        assert 'ipclab_run_rejections_total{reason="queue_wait"} 2' in metrics
        assert 'ipclab_runs_total{experiment="custom",outcome="ok"} 1' in metrics
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


def test_a_large_body_is_checked_off_the_http_thread():
    """With one HTTP thread, a run body that takes long to check (8 loops of 4096 writes of a 60 KiB text
    with {i}: expanded past the 4 MiB bound and refused, ~0.3 s of CPU in a release build, more in a debug
    one) is checked on the `ipclab-check` thread: /healthz is answered while it is checked, and the HTTP
    thread's CPU stays a small part of the check's (per-thread CPU from /proc, not a timing)."""
    srv = start_server("--threads", "1")
    try:
        data = "{i}" + "x" * (60 << 10)
        body = {"scenario": {"channels": [{"name": "c", "kind": "pipe"}],
                             "processes": [{"name": f"p{k}", "steps": [{"op": "loop", "times": 4096,
                                                                        "do": [{"op": "write", "channel": "c", "data": data}]}]}
                                           for k in range(8)]}}

        def ticks(prefix: str) -> int:
            total = 0
            for task in Path(f"/proc/{srv.process.pid}/task").iterdir():
                try:
                    if (task / "comm").read_text().startswith(prefix):
                        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                        total += int(fields[11]) + int(fields[12])
                except OSError:
                    pass
            return total

        http0, check0 = ticks("MHD"), ticks("ipclab-check")
        statuses: list[int] = []
        done = threading.Event()

        def post() -> None:
            for _ in range(2):
                statuses.append(requests.post(f"{srv.base_url}/api/v1/runs", json=body, timeout=300).status_code)
            done.set()

        poster = threading.Thread(target=post)
        poster.start()
        deadline = time.time() + 60
        while ticks("ipclab-check") == check0 and not done.is_set() and time.time() < deadline:
            time.sleep(0.005)
        health = requests.get(f"{srv.base_url}/healthz", timeout=30)
        answered_while_checking = not done.is_set()
        poster.join()
        assert statuses == [400, 400]
        assert health.status_code == 200 and answered_while_checking
        http_cpu, check_cpu = ticks("MHD") - http0, ticks("ipclab-check") - check0
        assert check_cpu >= 20, f"the check took {check_cpu} ticks on ipclab-check"
        assert http_cpu * 5 < check_cpu, f"HTTP thread {http_cpu} ticks, check thread {check_cpu}"
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


def test_connections_over_the_server_limit_wait_for_room():
    """--max-connections over two HTTP threads (the acceptor keeps it: README, "Connections spread over
    the HTTP threads"): four keep-alive connections are served, a fifth is accepted by the kernel but
    waits, unanswered, until one of the four closes; then it is served. A burst of forty past the limit,
    closed, leaves a server that still stops cleanly (libmicrohttpd 0.9.75 hung in its stop when it
    refused an added connection over its own limit)."""
    srv = start_server("--threads", "2", "--max-connections", "4")
    try:
        held = [connect(srv, "127.0.0.7") for _ in range(4)]
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        waiting = connect(srv, "127.0.0.8")
        waiting.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
        waiting.settimeout(0.5)
        with pytest.raises(socket.timeout):
            waiting.recv(65536)
        held.pop().close()
        waiting.settimeout(5)
        assert waiting.recv(65536).startswith(b"HTTP/1.1 200"), "the fifth was not served once there was room"
        for s in held + [waiting]:
            s.close()
        burst = [connect(srv, "127.0.0.9") for _ in range(40)]
        for s in burst:
            s.close()
        time.sleep(0.3)
        served_quickly(srv, "127.0.0.10")
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
