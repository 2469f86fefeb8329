"""Strict HTTP (issue 13): a request head that a proxy in front could frame differently is refused,
answered once, and its connection closed, so that nothing smuggled after it is ever answered. Also a
body over the limit sent whole by a simple client (urllib) gets the 413, and one address's connections
over its cap are each answered 503 with Retry-After (never reset), counted in /metrics.

Raw sockets throughout: the clients of other tests normalise exactly what is tested here.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Iterator

import pytest

from contract import check_response, validate_schema
from harness import Server, start_server

FOLLOWING = b"GET /healthz HTTP/1.1\r\nHost: lab\r\n\r\n"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@pytest.fixture(scope="module")
def srv() -> Iterator[Server]:
    server = start_server()
    yield server
    assert server.stop() == 0, server.stderr_tail()


def exchange(srv: Server, raw: bytes, source: str = "127.0.0.1", limit_s: float = 10.0) -> tuple[bytes, str]:
    """Sends `raw` on a new connection and reads until the server closes it or `limit_s` passes:
    (everything read, "closed" | "reset" | "open")."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(limit_s)
    s.connect((srv.host, srv.port))
    data = b""
    deadline = time.monotonic() + limit_s
    try:
        s.sendall(raw)
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = s.recv(65536)
            if not chunk:
                return data, "closed"
            data += chunk
    except socket.timeout:
        return data, "open"
    except ConnectionResetError:
        return data, "reset"
    finally:
        s.close()


def statuses(data: bytes) -> list[int]:
    """The status codes of the response heads in `data` (a status line at the start, or after a
    body ends: JSON bodies never hold one)."""
    return [int(m.group(1)) for m in STATUS_LINE.finditer(data)]


def error_of(data: bytes) -> dict:
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"application/json" in head, data[:600]
    value = json.loads(body)
    validate_schema(value, "Error", "error body")
    return value["error"]


REFUSED = [
    ("content_length_with_transfer_encoding", 400,
     b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two_different_content_lengths", 400,
     b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}x"),
    ("a_second_content_length_malformed", 400,
     b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Length: 2\r\nContent-Length: -1\r\n\r\n{}"),
    ("whitespace_before_a_colon", 400,
     b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("http11_without_host", 400, b"GET /healthz HTTP/1.1\r\n\r\n"),
    ("two_hosts", 400, b"GET /healthz HTTP/1.1\r\nHost: lab\r\nHost: other\r\n\r\n"),
    ("percent_00_in_the_path", 400, b"GET /index.html%00.png HTTP/1.1\r\nHost: lab\r\n\r\n"),
    ("nul_byte_in_the_path", 400, b"GET /index.html\x00.png HTTP/1.1\r\nHost: lab\r\n\r\n"),
    ("transfer_encoding_in_http10", 400,
     b"POST /api/v1/runs HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("unknown_transfer_coding", 501, b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: gzip\r\n\r\n"),
    ("unknown_coding_before_chunked", 501,
     b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("unknown_coding_on_a_get", 501, b"GET /healthz HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: x-custom\r\n\r\n"),
]


@pytest.mark.parametrize("name,status,raw", REFUSED, ids=[r[0] for r in REFUSED])
def test_an_ambiguous_head_is_answered_once_and_its_connection_closed(srv, name, status, raw):
    started = time.monotonic()
    data, end = exchange(srv, raw + FOLLOWING)
    elapsed = time.monotonic() - started
    assert end == "closed", f"{name}: connection {end} after {data[:300]!r}"
    assert statuses(data) == [status], f"{name}: expected one {status} and nothing for the following request: {data!r}"
    assert b"\r\nConnection: close\r\n" in data.partition(b"\r\n\r\n")[0], data[:400]
    code = {400: "bad_request", 501: "not_implemented"}[status]
    assert error_of(data)["code"] == code
    method, target = raw.split(b" ")[:2]
    head, _, body = data.partition(b"\r\n\r\n")
    check_response(method.decode(), target.split(b"\x00")[0].decode(), status, body, "application/json; charset=utf-8",
                   {"content-type": "application/json; charset=utf-8"})
    # Answered at once, not after a timeout (the server's shortest is 10 s).
    assert elapsed < 5, f"{name}: answered after {elapsed:.1f} s"


@pytest.mark.parametrize("value", [b"-1", b"abc", b"2x", b"+2", b"2, 2"])
def test_a_malformed_content_length_is_refused_and_the_connection_closed(srv, value):
    """libmicrohttpd refuses these itself, before any handler: 400, then the connection closes and the
    following request is not answered. (0.9.75 writes its header block twice ahead of its one body: a
    client reads one 400 whose body starts with the repeated block; see README, Hardening.)"""
    raw = b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Length: " + value + b"\r\n\r\n{}" + FOLLOWING
    data, end = exchange(srv, raw)
    assert end == "closed", f"connection {end} after {data[:300]!r}"
    assert data.startswith(b"HTTP/1.1 400 "), data[:300]
    assert 200 not in statuses(data), f"the following request was answered: {data!r}"
    assert set(statuses(data)) == {400}


def test_sound_requests_still_share_a_connection(srv):
    """The checks refuse nothing sound: pipelined requests, a chunked body, an HTTP/1.0 request
    without Host, identical repeated Content-Length, a percent-encoded byte other than NUL."""
    chunked = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    same_length = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}")
    encoded = b"GET /index%2Ehtml HTTP/1.1\r\nHost: lab\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
    data, end = exchange(srv, FOLLOWING + chunked + same_length + encoded + last)
    assert end == "closed"
    assert statuses(data) == [200, 400, 400, 200, 200], data[:2000]
    # the runs' body {} names no experiment (each error body names it twice: as `error` and in `errors`)
    assert data.count(b'{"error":{"code":"invalid_request"') == 2, data
    data, end = exchange(srv, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert statuses(data) == [200] and end == "closed"


def test_urllib_sending_a_body_over_the_limit_reads_the_413(srv):
    """urllib sends the whole body before it reads anything: the server reads and drops it (up to a
    bound) and answers 413, instead of closing on it (a broken pipe for urllib)."""
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    request = urllib.request.Request(srv.base_url + "/api/v1/runs", data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    error = json.loads(caught.value.read())
    validate_schema(error, "Error", "413 body")
    assert error["error"]["code"] == "body_too_large"


def test_a_client_waiting_for_100_continue_gets_the_413_at_once(srv):
    raw = (b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
           b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
    data, end = exchange(srv, raw)
    assert statuses(data) == [413] and end == "closed", data[:300]


def metric(srv: Server, name: str, labels: str) -> float:
    with urllib.request.urlopen(srv.base_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def test_100_connections_from_one_address_all_get_an_http_answer():
    """Default caps: 64 connections per address served, 64 more in reserve answered 503 with
    Retry-After. 100 open at once from one address: each gets 200 or 503, none is reset or left
    unanswered; the 503s are counted in /metrics; /healthz from that address is still served."""
    srv = start_server()
    source = "127.0.0.7"
    try:
        before = metric(srv, "ipclab_http_refusals_total", 'reason="per_ip_limit"')
        sockets = []
        for _ in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((source, 0))
            s.settimeout(20)
            s.connect((srv.host, srv.port))
            sockets.append(s)
        time.sleep(0.3)  # all accepted (and counted) before any request
        # While all 100 are open, /healthz from the same address is answered (a reserve path).
        health, _ = exchange(srv, b"GET /healthz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", source)
        assert statuses(health) == [200], health[:300]
        for s in sockets:
            s.sendall(b"GET /api/v1/experiments HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        answers: list[bytes] = [b""] * len(sockets)
        ends: list[str] = [""] * len(sockets)

        def read(i: int) -> None:
            data = b""
            try:
                while chunk := sockets[i].recv(65536):
                    data += chunk
                ends[i] = "closed"
            except ConnectionResetError:
                ends[i] = "reset"
            except socket.timeout:
                ends[i] = "timeout"
            answers[i] = data

        readers = [threading.Thread(target=read, args=(i,)) for i in range(len(sockets))]
        for t in readers:
            t.start()
        for t in readers:
            t.join()
        for s in sockets:
            s.close()
        codes = [statuses(a)[:1] for a in answers]
        assert all(e == "closed" for e in ends), f"not all closed cleanly: {sorted(set(ends))}"
        assert all(c in ([200], [503]) for c in codes), [a[:120] for a, c in zip(answers, codes) if c not in ([200], [503])]
        refused = [a for a, c in zip(answers, codes) if c == [503]]
        assert len(refused) == 100 - 64, f"{len(refused)} answered 503"
        for a in refused:
            head = a.partition(b"\r\n\r\n")[0]
            assert re.search(rb"\r\nRetry-After: \d+\r\n", head), head
            assert error_of(a)["code"] == "unavailable"
        after = metric(srv, "ipclab_http_refusals_total", 'reason="per_ip_limit"')
        assert after - before == len(refused)
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
