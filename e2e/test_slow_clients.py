"""Slow clients (issue 13): a request head must arrive whole within --head-timeout-s and a body at
--min-body-rate, so trickling a byte at a time does not keep a connection; and with every connection
of the main port held by tricklers from many addresses, /healthz and /metrics still answer on the
admin listener (--admin-port).

Times here are bounds on what must happen (a connection closed, an answer given), generous for a
noisy machine; they never measure speed.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request

import pytest

from harness import Server, read_until_closed, start_server

ADMIN = re.compile(r"admin \(/healthz, /metrics\) on http://([^\s:/]+):(\d+)")


def connect(host: str, port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect((host, port))
    return s


def trickle_until_closed(s: socket.socket, data: bytes, every_s: float, limit_s: float) -> float | None:
    """Sends `data` a byte every `every_s`; answers the seconds until the server closed the connection
    (a send or a read failing, or EOF), or None if it was still open after `limit_s`."""
    started = time.monotonic()
    s.setblocking(False)
    for byte in data:
        if time.monotonic() - started > limit_s:
            return None
        try:
            if s.recv(65536) == b"":
                return time.monotonic() - started
        except BlockingIOError:
            pass
        except OSError:
            return time.monotonic() - started
        try:
            s.send(bytes([byte]))
        except OSError:
            return time.monotonic() - started
        time.sleep(every_s)
    return None


def metric(base_url: str, name: str, labels: str) -> float:
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


@pytest.fixture(scope="module")
def srv():
    server = start_server("--head-timeout-s", "2", "--min-body-rate", "1024")
    yield server
    assert server.stop() == 0, server.stderr_tail()


def test_a_head_trickled_a_byte_at_a_time_is_cut_off(srv: Server):
    head = b"GET /healthz HTTP/1.1\r\nHost: lab\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    before = metric(srv.base_url, "ipclab_http_refusals_total", 'reason="head_timeout"')
    s = connect(srv.host, srv.port)
    try:
        # The idle timeout (15 s) never fires: a byte comes every 0.2 s. The head deadline (2 s) does.
        closed_after = trickle_until_closed(s, head, 0.2, limit_s=20)
    finally:
        s.close()
    assert closed_after is not None, "a trickled head kept its connection for 20 s"
    assert closed_after < 10, f"closed only after {closed_after:.1f} s"
    assert metric(srv.base_url, "ipclab_http_refusals_total", 'reason="head_timeout"') >= before + 1


def test_an_idle_keep_alive_connection_counts_toward_the_next_head(srv: Server):
    s = connect(srv.host, srv.port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        s.settimeout(15)
        started = time.monotonic()
        assert s.recv(65536) == b"", "the server sent something unasked"
        assert time.monotonic() - started < 10
    finally:
        s.close()


def test_a_body_slower_than_the_minimum_rate_is_cut_off(srv: Server):
    head = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n")
    before = metric(srv.base_url, "ipclab_http_refusals_total", 'reason="body_too_slow"')
    s = connect(srv.host, srv.port)
    try:
        s.sendall(head)
        # 10 bytes a second, far under 1024 B/s: cut off after the 5 s grace.
        closed_after = trickle_until_closed(s, b"{" + b" " * 400, 0.1, limit_s=30)
    finally:
        s.close()
    assert closed_after is not None, "a body trickled at 10 B/s kept its connection for 30 s"
    assert 4 < closed_after < 15, f"closed after {closed_after:.1f} s"
    assert metric(srv.base_url, "ipclab_http_refusals_total", 'reason="body_too_slow"') >= before + 1


def test_a_body_at_a_fair_rate_is_served(srv: Server):
    body = b'{"experiment": "pipe.hello"' + b" " * 6000 + b"}"
    head = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    s = connect(srv.host, srv.port)
    try:
        s.sendall(head)
        for i in range(0, len(body), 1000):  # ~1000 B every 0.5 s: 2000 B/s, over 7 s in all
            s.sendall(body[i:i + 1000])
            time.sleep(0.5)
        data = read_until_closed(s, 30)
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:300]


def test_health_answers_on_the_admin_port_while_17_addresses_trickle_64_connections_each():
    srv = start_server("--admin-port", "0")
    stop = threading.Event()
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 10
        while not any(ADMIN.search(line) for line in srv.stdout_lines):
            assert time.monotonic() < deadline, f"no admin line on stdout: {srv.stdout_lines}"
            time.sleep(0.05)
        admin_host, admin_port = next(ADMIN.search(l).groups() for l in srv.stdout_lines if ADMIN.search(l))
        admin_port = int(admin_port)

        for n in range(2, 19):  # 127.0.0.2 … 127.0.0.18
            for _ in range(64):
                try:
                    s = connect(srv.host, srv.port, f"127.0.0.{n}")
                except OSError:
                    continue  # past --max-connections (1000) the server closes at accept
                s.setblocking(False)
                held.append(s)
        assert len(held) >= 1000, f"only {len(held)} connections opened"

        def trickle() -> None:
            line = b"GET /healthz HTTP/1.1\r\nHost: lab\r\nX-Slow: "
            i = 0
            while not stop.is_set():
                for s in held:
                    try:
                        s.send(line[i:i + 1] if i < len(line) else b"a")
                    except OSError:
                        pass
                i += 1
                stop.wait(1.0)

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        time.sleep(3)  # every connection of the main port taken, each sending a byte a second

        for path in ("/healthz", "/metrics"):
            started = time.monotonic()
            s = connect(admin_host, admin_port, "127.0.0.19")
            try:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n".encode())
                data = read_until_closed(s, 10)
            finally:
                s.close()
            elapsed = time.monotonic() - started
            assert data.startswith(b"HTTP/1.1 200"), data[:300]
            assert elapsed < 2, f"{path} on the admin port took {elapsed:.2f} s"
        # The admin port serves nothing else.
        s = connect(admin_host, admin_port, "127.0.0.19")
        try:
            s.sendall(b"GET /api/v1/experiments HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
            s.settimeout(10)
            assert s.recv(65536).startswith(b"HTTP/1.1 404")
        finally:
            s.close()
    finally:
        stop.set()
        for s in held:
            s.close()
        assert srv.stop() == 0, srv.stderr_tail()
