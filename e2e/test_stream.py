"""POST /api/v1/runs with `Accept: application/x-ndjson`: the run streamed as it happens, one JSON object
per line (openapi.yaml, `RunStreamLine`): event lines as the events complete, the whole trace last.

These are functional checks of streaming (lines come before the run ends), not timings."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections import Counter
from typing import Any

from contract import check_response, validate_schema
from traces import check_trace, sleeping_scenario

NDJSON = "application/x-ndjson"
SLEEP_MS = 900


def stream_run(server, body: dict[str, Any], *, accept: str = NDJSON, query: str = "",
               timeout: float = 20.0) -> tuple[int, dict[str, str], list[tuple[float, bytes]]]:
    """POST a run; answer the status, the headers and each body line with the time it arrived
    (seconds since the request was sent)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        payload = json.dumps(body).encode()
        start = time.monotonic()
        conn.request("POST", "/api/v1/runs" + query, payload,
                     {"Content-Type": "application/json", "Accept": accept})
        r = conn.getresponse()
        headers = {k.lower(): v for k, v in r.getheaders()}
        lines: list[tuple[float, bytes]] = []
        while True:
            line = r.readline()
            if not line:
                break
            lines.append((time.monotonic() - start, line))
        return r.status, headers, lines
    finally:
        conn.close()


def parse_stream(headers: dict[str, str], lines: list[tuple[float, bytes]]) -> list[dict[str, Any]]:
    """Every line is one JSON object ending in a newline, valid as a RunStreamLine; the body as a whole
    is a documented 200 of createRun."""
    assert headers["content-type"] == NDJSON, headers
    assert headers.get("transfer-encoding") == "chunked", headers
    check_response("POST", "/api/v1/runs", 200, b"".join(line for _, line in lines), headers["content-type"], headers)
    objects = []
    for n, (_, raw) in enumerate(lines):
        assert raw.endswith(b"\n"), f"line {n} does not end in a newline: {raw[:200]!r}"
        obj = json.loads(raw)
        validate_schema(obj, "RunStreamLine", f"stream line {n}")
        objects.append(obj)
    return objects


def key(event: dict[str, Any]) -> tuple:
    return (event["process"], event["call"], json.dumps(event["args"], sort_keys=True), event["result"])


def sleeping_run(sleep_ms: int) -> dict[str, Any]:
    """The run request of traces.sleeping_scenario, with room in its wall limit."""
    return {"scenario": sleeping_scenario(sleep_ms), "limits": {"wall_ms": sleep_ms + 3000}}


def test_preset_streams_events_then_the_trace(server):
    status, headers, lines = stream_run(server, {"experiment": "pipe.hello"})
    assert status == 200, lines[:3]
    objects = parse_stream(headers, lines)
    assert objects[-1]["type"] == "trace", objects[-1]
    assert all(o["type"] in ("event", "progress") for o in objects[:-1]), [o["type"] for o in objects]
    trace = objects[-1]["trace"]
    validate_schema(trace, "Trace", "last line's trace")
    check_trace(trace)
    assert trace["run"]["outcome"] == "ok"
    assert all(o["holds"] for o in trace["observations"]), trace["observations"]

    streamed = [o["event"] for o in objects if o["type"] == "event"]
    for e in streamed:
        validate_schema(e, "Event", "streamed event")
    assert streamed, "no event lines before the trace"
    # The same events as the trace's, each once.
    assert Counter(map(key, streamed)) == Counter(map(key, trace["events"]))
    # Provisional seq numbers count the lines.
    assert [e["seq"] for e in streamed] == list(range(1, len(streamed) + 1))
    # The bytes the child wrote are the ones the parent read, already in the streamed events.
    reads = [e for e in streamed if e["call"] == "read" and e["process"] == "parent"]
    assert reads and reads[0]["payload"]["text"].startswith("Hello")


def test_lines_arrive_while_the_run_goes_on(server):
    """Events before the writer's sleep are sent before it ends: the first line comes about the sleep
    earlier than the last."""
    status, headers, lines = stream_run(server, sleeping_run(SLEEP_MS))
    assert status == 200
    objects = parse_stream(headers, lines)
    trace = objects[-1]["trace"]
    assert objects[-1]["type"] == "trace" and trace["run"]["outcome"] == "ok", trace["run"]
    streamed = [o["event"] for o in objects if o["type"] == "event"]
    assert Counter(map(key, streamed)) == Counter(map(key, trace["events"]))

    first_at, last_at = lines[0][0], lines[-1][0]
    assert last_at - first_at >= 0.6 * SLEEP_MS / 1000, \
        f"first line at {first_at:.3f} s, last at {last_at:.3f} s: not streamed while the run went on"
    # The first write (before the sleep) was streamed before the sleep ended.
    first_write = next(n for n, o in enumerate(objects)
                       if o["type"] == "event" and o["event"]["call"] == "write" and o["event"]["process"] == "writer")
    assert lines[first_write][0] < last_at - 0.5 * SLEEP_MS / 1000
    # The sleep itself is in the stream with what the kernel said.
    sleeps = [e for e in streamed if e["call"] == "nanosleep"]
    assert len(sleeps) == 1 and sleeps[0]["result"] == 0


def test_bad_requests_are_plain_json_errors(lab):
    ndjson = {"Accept": NDJSON}
    r = lab.run({"experiment": "pipe.hello", "params": {"nope": 1}}, headers=ndjson)
    assert r.error(400, "invalid_parameter")["path"] == "params.nope"
    r = lab.run({"experiment": "pipe.no_such"}, headers=ndjson)
    r.error(404, "unknown_experiment")
    r = lab.run({"experiment": "pipe.hello"}, headers=ndjson, params={"format": "text"})
    assert r.error(400, "invalid_parameter")["path"] == "format"
    r = lab.request("POST", "/api/v1/runs", data=b"{}", headers={**ndjson, "Content-Type": "text/plain"})
    r.error(415, "unsupported_media_type")


def test_other_accept_values_answer_at_once(lab):
    for accept in ("application/json", "*/*", "application/x-ndjson;q=0"):
        r = lab.run({"experiment": "pipe.hello"}, headers={"Accept": accept})
        assert r.status == 200, (accept, r.body[:300])
        assert r.json["trace_version"] == 1, accept
    r = lab.run({"experiment": "pipe.hello"}, headers={"Accept": "application/json, application/x-ndjson"})
    assert r.status == 200 and r.content_type == NDJSON


def runs_active(lab) -> int:
    text = lab.get("/metrics").text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("ipclab_runs_active ")))


def test_a_client_that_leaves_ends_its_run(server, lab):
    """Disconnect after the first line of a run that sleeps for seconds: the run is killed well before
    its sleep ends, and the server goes on serving."""
    body = json.dumps(sleeping_run(5000)).encode()
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.sendall(b"POST /api/v1/runs HTTP/1.1\r\nHost: lab\r\nContent-Type: application/json\r\n"
              b"Accept: application/x-ndjson\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    received = b""
    while b'"type":"event"' not in received:
        chunk = s.recv(65536)
        assert chunk, f"connection closed before any event line: {received[:300]!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    assert runs_active(lab) >= 1
    s.close()
    left = time.monotonic()
    while runs_active(lab) > 0:
        assert time.monotonic() - left < 2.5, "the run went on after its client left"
        time.sleep(0.05)
    assert lab.get("/healthz").json["status"] == "ok"
    status, headers, lines = stream_run(server, {"experiment": "pipe.hello"})
    assert status == 200 and parse_stream(headers, lines)[-1]["type"] == "trace"
