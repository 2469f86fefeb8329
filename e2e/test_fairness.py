"""Fair sharing of run slots: one address flooding the server with long runs does not starve another
address, and one address past its share is told so with a 503, a Retry-After from the queue and a
count in /metrics.

The victim is 127.0.0.2, the flood 127.0.0.1 (both loopback on Linux). The bound on the victim's
latency is functional, not a benchmark: without fair sharing its runs wait behind the flood's queue
(tens of seconds, or a 503); with it, each waits for at most one of the flood's 1 s runs to end.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import flood
from contract import check_response
from harness import Server, start_server

SLEEP_1S = {"scenario": {"channels": [], "processes": [{"name": "sleeper", "steps": [{"op": "sleep", "ms": 1000}]}]}}


def post(srv: Server, body: dict, source: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """POST /api/v1/runs from `source` on a new connection; the status, headers and body, checked
    against openapi.yaml."""
    return flood.post(srv.host, srv.port, body, source, timeout)


def test_a_flood_from_one_address_does_not_starve_another():
    """40 clients on 127.0.0.1 post 1 s runs without pause; meanwhile 127.0.0.2 makes 10 sequential
    pipe.hello runs: all 200, p95 ≤ 1.5 s."""
    srv = start_server()
    # The flood in a process of its own (e2e/flood.py says why).
    flooder = subprocess.Popen([sys.executable, str(Path(flood.__file__)), srv.host, str(srv.port), "127.0.0.1", "40",
                                json.dumps(SLEEP_1S)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    flood_statuses: list[int] = []
    try:
        # The flood holds every run thread and its share of the queue before the victim starts.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
            if re.search(r'^ipclab_client_runs\{client="127\.0\.0\.1",state="queued"\} [1-9]', metrics, re.M):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the flood never queued")
        latencies = []
        for _ in range(10):
            status, _, body, elapsed = flood.timed_post(srv.host, srv.port, {"experiment": "pipe.hello"}, "127.0.0.2")
            latencies.append(elapsed)
            assert status == 200, body[:300]
            assert json.loads(body)["run"]["outcome"] == "ok"
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1) + 0.5)]
        print(f"victim latencies (s): {[round(x, 2) for x in latencies]}, p95 {p95:.2f}")
        assert p95 <= 1.5, f"victim p95 {p95:.2f} s while one address floods: {latencies}"
    finally:
        try:
            out, _ = flooder.communicate(timeout=60)  # closes its stdin: it stops, then says what it got
        except subprocess.TimeoutExpired:
            flooder.kill()
            out, _ = flooder.communicate()
        flood_statuses = json.loads(out) if out.strip() else []
        assert srv.stop() == 0, srv.stderr_tail()
    assert 200 in flood_statuses, "the flood itself was never served"
    assert set(flood_statuses) <= {200, 503}, f"flood statuses {set(flood_statuses)}"


def test_one_address_past_its_share_gets_503_client_limit():
    """30 simultaneous 1 s runs from one address, with 4 run threads and room for 64 waiting: the
    queue has room, but the address may hold only its share (--max-runs-per-client 6): the others
    are answered 503 at once, with a Retry-After from the queue, and counted as client_limit. Another
    address still gets in meanwhile."""
    srv = start_server("--max-runs", "4", "--run-queue", "64", "--max-runs-per-client", "6")
    try:
        results: list[tuple[int, dict[str, str], bytes, float]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(30)

        def client() -> None:
            barrier.wait()
            # The server's time (connect to the answer's last byte), and the answers checked against
            # openapi.yaml only once all thirty are in: the first check in a process compiles its schemas,
            # and under the GIL that held back threads yet to send, past the first runs' end (then a
            # seventh run was rightly admitted), or past the 1-s bound on a refusal.
            status, headers, body, elapsed = flood.timed_post(srv.host, srv.port, SLEEP_1S, "127.0.0.1", 60,
                                                              check=False)
            with lock:
                results.append((status, headers, body, elapsed))

        threads = [threading.Thread(target=client) for _ in range(30)]
        for t in threads:
            t.start()
        other = post(srv, {"experiment": "pipe.hello"}, "127.0.0.2")
        for t in threads:
            t.join(60)
        assert other[0] == 200, other[2][:300]
        for status, headers, body, _ in results:
            flood.check_post(status, headers, body)
        statuses = [r[0] for r in results]
        assert statuses.count(200) == 6 and statuses.count(503) == 24, statuses
        for status, headers, body, elapsed in results:
            if status == 503:
                error = json.loads(body)["error"]
                assert error["code"] == "unavailable" and "the most one client may have (6)" in error["message"], error
                assert 1 <= int(headers["Retry-After"]) <= 60
                assert elapsed < 1.0, f"a refusal took {elapsed:.2f} s: it must not wait"
        metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
        assert re.search(r'^ipclab_run_rejections_total\{reason="client_limit"\} 24$', metrics, re.M), metrics
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


def test_api_keys_are_clients(tmp_path):
    """With --api-keys, two keys from one address are two clients (each its own share); an unknown
    key counts as the address. The keys never appear in /metrics, only their names."""
    keys = tmp_path / "keys"
    keys.write_text("# name key\nalice aaaaaaaaaaaaaaaaaaaaaaaa\nbob bbbbbbbbbbbbbbbbbbbbbbbb\n")
    srv = start_server("--max-runs", "1", "--max-runs-per-client", "1", "--api-keys", str(keys))
    try:
        def post_key(key: str | None, out: list) -> None:
            headers = {"Content-Type": "application/json"} | ({"X-API-Key": key} if key else {})
            r = requests.post(srv.base_url + "/api/v1/runs", data=json.dumps(SLEEP_1S), headers=headers, timeout=30)
            check_response("POST", "/api/v1/runs", r.status_code, r.content, r.headers.get("Content-Type"), r.headers)
            out.append(r.status_code)

        first: list[int] = []
        t = threading.Thread(target=post_key, args=("aaaaaaaaaaaaaaaaaaaaaaaa", first))
        t.start()
        deadline = time.monotonic() + 5
        while "ipclab_runs_active 1" not in requests.get(srv.base_url + "/metrics", timeout=5).text:
            assert time.monotonic() < deadline, "the first run never started"
            time.sleep(0.05)
        metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
        assert 'client="key:alice",state="running"} 1' in metrics
        assert "aaaaaaaa" not in metrics
        again: list[int] = []
        post_key("aaaaaaaaaaaaaaaaaaaaaaaa", again)  # alice past her share of 1
        assert again == [503]
        bob: list[int] = []
        post_key("bbbbbbbbbbbbbbbbbbbbbbbb", bob)  # another client: waits its turn, then runs
        assert bob == [200]
        t.join(30)
        assert first == [200]
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
