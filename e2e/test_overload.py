"""Overload: 500 run requests from 100 concurrent clients against a server that runs 2 at once and
queues 4. Only 200 and 503 come back; every 200 is a valid trace of a run that went well, every 503
says when to come back, and the server is healthy afterwards with nothing in flight."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import requests

from contract import check_response
from harness import start_server

CLIENTS = 100
REQUESTS = 500
BUDGET_S = 60
PRESETS = ["pipe.hello", "pipe.byte_stream", "shm.posix", "sem.mutex", "mq.posix", "socket.socketpair", "signal.handshake"]


def test_500_requests_from_100_clients():
    # 100 clients on one IP: the per-IP connection cap must let them all in (this tests run admission).
    srv = start_server("--max-runs", "2", "--run-queue", "4", "--max-connections-per-ip", "200")
    try:
        catalog = {e["id"] for e in requests.get(srv.base_url + "/api/v1/experiments", timeout=10).json()["experiments"]}
        presets = [p for p in PRESETS if p in catalog]
        assert len(presets) >= 3, f"too few of {PRESETS} in the catalog"
        work = list(range(REQUESTS))
        lock = threading.Lock()
        replies: list[tuple[int, str, dict[str, str], bytes]] = []
        failures: list[str] = []
        start = threading.Barrier(CLIENTS)

        def client() -> None:
            session = requests.Session()  # keep-alive: one connection per client
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            start.wait()
            while True:
                with lock:
                    if not work:
                        return
                    i = work.pop()
                preset = presets[i % len(presets)]
                try:
                    r = session.post(srv.base_url + "/api/v1/runs", json={"experiment": preset}, timeout=30)
                except requests.RequestException as e:
                    with lock:
                        failures.append(f"{preset}: {type(e).__name__}: {e}")
                    continue
                with lock:
                    replies.append((r.status_code, preset, dict(r.headers), r.content))

        began = time.monotonic()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(BUDGET_S)
        elapsed = time.monotonic() - began
        assert not any(t.is_alive() for t in threads), f"clients still waiting after {BUDGET_S} s"
        assert failures == [], f"{len(failures)} requests failed without an HTTP answer: {failures[:5]}"
        assert len(replies) == REQUESTS

        statuses = Counter(status for status, *_ in replies)
        assert set(statuses) <= {200, 503}, f"statuses {dict(statuses)}"
        assert statuses[200] > 0 and statuses[503] > 0, f"statuses {dict(statuses)}: no overload reached"
        for status, preset, headers, body in replies:
            value = check_response("POST", "/api/v1/runs", status, body, headers.get("Content-Type"), headers)
            if status == 200:
                assert value["run"]["outcome"] == "ok", (preset, value["run"])
                assert value["run"]["experiment"] == preset
            else:
                assert value["error"]["code"] == "unavailable"
                assert int(headers["Retry-After"]) >= 1

        health = requests.get(srv.base_url + "/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        metrics = requests.get(srv.base_url + "/metrics", timeout=5).text
        assert re.search(r"^ipclab_runs_active 0$", metrics, re.M)
        assert re.search(r"^ipclab_run_queue_depth 0$", metrics, re.M)
        served = sum(int(n) for n in re.findall(r'^ipclab_runs_total\{[^}]*outcome="ok"\} (\d+)$', metrics, re.M))
        # One address: past its share it is refused client_limit, past the whole queue queue_full.
        refused = re.findall(r'^ipclab_run_rejections_total\{reason="(?:queue_full|client_limit)"\} (\d+)$', metrics, re.M)
        assert served == statuses[200]
        assert refused and sum(int(n) for n in refused) == statuses[503]
        print(f"overload: {dict(statuses)} in {elapsed:.1f} s")
        r = requests.post(srv.base_url + "/api/v1/runs", json={"experiment": "pipe.hello"}, timeout=10)
        assert r.status_code == 200
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
