"""Memory bounded by configuration: slow readers of the largest trace the server allows (262,144
events: 8 processes × `kill` with `repeat`) do not grow the server past its response budget, and the
memory comes back once they are gone.

Read from /proc/<pid>/status (VmRSS). The bounds are functional, not timing: before the budget and
streamed traces, 8 such readers took the server from 31 MiB to 980 MiB (JSON), and it stayed above
500 MiB after they left.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from harness import Server, start_server

READERS = 8
RATE = 128 * 1024  # bytes a second each reader takes
READ_S = 20  # how long each reads before it hangs up
PEAK_MIB = 256
AFTER_MIB = 32
SETTLE_S = 30


def largest_run() -> dict:
    processes = []
    for i in range(8):
        steps = [{"op": "sigaction", "signal": "SIGUSR1", "action": "ignore"}]
        steps += [{"op": "kill", "process": f"p{i}", "signal": "SIGUSR1", "repeat": 4096} for _ in range(8)]
        processes.append({"name": f"p{i}", "steps": steps})
    # Not stored: this measures the response path's budget. Storing a trace this size renders all three
    # formats whole and deflates them on the run thread (issue 17's store); bounding that memory like
    # the streamed response is still to do.
    return {"scenario": {"channels": [], "processes": processes}, "limits": {"events": 262_144, "wall_ms": 10_000},
            "store": False}


def rss_mib(srv: Server) -> float:
    with open(f"/proc/{srv.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def slow_reader(srv: Server, path: str, body: bytes, out: list, lock: threading.Lock) -> None:
    """POSTs the run and reads the answer at RATE for READ_S (or to its end), then hangs up."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(1)
    got = 0
    head = b""
    try:
        s.connect((srv.host, srv.port))
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        began = time.monotonic()
        while time.monotonic() - began < READ_S:
            try:
                data = s.recv(16384)
            except socket.timeout:
                continue
            if not data:
                break
            if len(head) < 64:
                head += data[:64]
            got += len(data)
            ahead = got / RATE - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        s.close()
    with lock:
        out.append((head, got))


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_slow_readers_of_the_largest_trace(fmt):
    srv = start_server()
    try:
        body = json.dumps(largest_run()).encode()
        path = "/api/v1/runs" + ("?format=text" if fmt == "text" else "")
        time.sleep(1)
        start = rss_mib(srv)
        peak = start
        results: list = []
        lock = threading.Lock()
        readers = [threading.Thread(target=slow_reader, args=(srv, path, body, results, lock)) for _ in range(READERS)]
        for t in readers:
            t.start()
        while any(t.is_alive() for t in readers):
            peak = max(peak, rss_mib(srv))
            time.sleep(0.1)
        statuses = [head[:12] for head, _ in results]
        assert len(results) == READERS
        assert set(statuses) <= {b"HTTP/1.1 200", b"HTTP/1.1 503"}, statuses
        assert statuses.count(b"HTTP/1.1 200") >= 1, statuses
        # A reader that got its 200 read at its pace, so the trace came as it read.
        assert max(got for _, got in results) >= RATE * READ_S // 2, results
        metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            peak = max(peak, rss_mib(srv))
            time.sleep(0.5)
        after = rss_mib(srv)
        print(f"{fmt}: start {start:.0f} MiB, peak {peak:.0f} MiB, {SETTLE_S} s after {after:.0f} MiB; "
              f"answers {[s.decode() for s in statuses]}")
        assert peak <= start + PEAK_MIB, f"peak {peak:.0f} MiB from {start:.0f} MiB"
        assert after <= start + AFTER_MIB, f"{after:.0f} MiB {SETTLE_S} s after, from {start:.0f} MiB"
        assert "ipclab_response_budget_waits_total" in metrics
        final = requests.get(srv.base_url + "/metrics", timeout=5).text
        assert "ipclab_response_bytes_in_flight 0\n" in final, final
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
