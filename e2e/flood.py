"""A flood of runs from one address, in a process of its own (e2e/test_fairness.py):

  python3 e2e/flood.py HOST PORT SOURCE THREADS BODY_JSON

posts BODY_JSON to /api/v1/runs from SOURCE on THREADS threads without pause (a refused request comes
back after 50 ms, as a flood would), every response checked against openapi.yaml, until its stdin
closes; then prints the statuses it got as a JSON list (0: the connection failed; -1: a response
that openapi.yaml does not allow, described on stderr).

A process of its own so that the flood's Python work does not hold the interpreter lock the
measuring client needs: with 40 flooding threads in the test's own process, the victim's connect,
send and read each waited up to seconds for the lock (its runs were answered in milliseconds), and
the test measured the interpreter instead of the server's fairness.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time

from contract import check_response


def post(host: str, port: int, body: dict, source: str, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """POST /api/v1/runs from `source` on a new connection; the status, headers and body, checked
    against openapi.yaml."""
    return timed_post(host, port, body, source, timeout)[:3]


def timed_post(host: str, port: int, body: dict, source: str,
               timeout: float = 60, check: bool = True) -> tuple[int, dict[str, str], bytes, float]:
    """``post``, and the seconds from connecting to the last byte of the answer: the server's time,
    not the check's (the first check of a process loads openapi.yaml's schemas: ~0.4 s). `check`
    False leaves the check against openapi.yaml to the caller (``check_post``), e.g. until every
    thread of a burst has sent: a check's schema compiling holds the GIL from threads yet to send."""
    began = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("POST", "/api/v1/runs", body=json.dumps(body), headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        headers = dict(r.getheaders())
    finally:
        conn.close()
    elapsed = time.monotonic() - began
    if check:
        check_post(r.status, headers, data)
    return r.status, headers, data, elapsed


def check_post(status: int, headers: dict[str, str], data: bytes) -> None:
    """A POST /api/v1/runs answer checked against openapi.yaml."""
    check_response("POST", "/api/v1/runs", status, data, headers.get("Content-Type"), headers)


def main() -> None:
    host, port, source, threads, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
    stop = threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()

    def flooder() -> None:
        while not stop.is_set():
            try:
                status = post(host, port, body, source)[0]
            except OSError:
                status = 0
            except AssertionError as e:
                print(f"flood: {e}", file=sys.stderr, flush=True)
                status = -1
            with lock:
                statuses.append(status)
            if status != 200:
                time.sleep(0.05)

    workers = [threading.Thread(target=flooder, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    sys.stdin.read()  # until the test closes it
    stop.set()
    for w in workers:
        w.join(30)
    with lock:
        print(json.dumps(statuses), flush=True)


if __name__ == "__main__":
    main()
