"""Stored runs (issue 17): every run answered 200 is stored, and GET /api/v1/runs/{id} gives it back
byte for byte in each format, after a clean restart and after `kill -9` too; lists page newest first
with filters; `"store": false` skips it; retention deletes the oldest. Each test that stores runs
runs twice: on the embedded SQLite store, and on PostgreSQL (`--database`, a cluster the tests start,
a new database for each server), since both backends promise the same."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time

import pytest
import requests

from contract import REPO
from harness import Lab, new_data_dir, server_binary, start_server
from postgres import Postgres

HELLO = {"experiment": "pipe.hello"}
CUSTOM = {"scenario": {"channels": [{"name": "p", "kind": "pipe"}],
                       "processes": [{"name": "solo", "steps": [{"op": "write", "channel": "p", "data": "hi"}]}]}}


def run_id(reply) -> str:
    return reply.json["run"]["id"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def new_store(request, backend):
    """Makes the flags of a new, empty store of this backend: `--data-dir DIR` or `--database URL`."""
    if backend == "sqlite":
        return lambda: ("--data-dir", new_data_dir())
    cluster: Postgres = request.getfixturevalue("postgres")
    return lambda: ("--database", cluster.create_database())


@pytest.fixture(scope="module")
def lab(lab, backend, new_store):
    """The session's server (SQLite), or one server of this module's on PostgreSQL."""
    if backend == "sqlite":
        yield lab
        return
    srv = start_server(*new_store())
    yield Lab(srv)
    assert srv.stop() == 0, srv.stderr_tail()


@pytest.fixture
def own(new_store):
    """A server of this test's own, on a new store of the backend unless the test names one; stopped at the end."""
    servers = []

    def start(*args: str):
        if not {"--data-dir", "--database"} & set(args):
            args = (*new_store(), *args)
        srv = start_server(*args)
        servers.append(srv)
        return srv, Lab(srv)

    yield start
    for srv in servers:
        srv.stop()


def test_a_run_reads_back_byte_for_byte_in_every_format(lab):
    posted = lab.run(HELLO)
    assert posted.status == 200
    rid = run_id(posted)
    assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    stored = lab.get(f"/api/v1/runs/{rid}")
    assert stored.status == 200
    assert stored.body == posted.body
    assert lab.get(f"/api/v1/runs/{rid}?format=json").body == posted.body

    text = lab.request("POST", "/api/v1/runs?format=text", json=HELLO)
    assert text.status == 200
    tid = re.match(r"# run ([0-9a-f]{32}) ", text.text).group(1)
    got = lab.get(f"/api/v1/runs/{tid}?format=text")
    assert got.status == 200 and got.content_type.startswith("text/plain")
    assert got.body == text.body

    chrome = lab.request("POST", "/api/v1/runs?format=chrome", json=HELLO)
    assert chrome.status == 200
    cid = chrome.json["otherData"]["run_id"]
    got = lab.get(f"/api/v1/runs/{cid}?format=chrome")
    assert got.status == 200
    assert got.body == chrome.body
    # The stored run's other formats are that same run's.
    assert lab.get(f"/api/v1/runs/{cid}").json["run"]["id"] == cid
    assert lab.get(f"/api/v1/runs/{rid}?format=text").text.startswith(f"# run {rid} ")


def test_a_run_answered_in_part_is_stored_whole(lab):
    part = lab.request("POST", "/api/v1/runs?fields=run", json=HELLO)
    assert part.status == 200 and set(part.json) == {"trace_version", "run"}
    stored = lab.get(f"/api/v1/runs/{run_id(part)}").json
    assert stored["run"] == part.json["run"] and stored["events"] and stored["observations"]


def test_ids_differ_and_do_not_leak_each_other(lab):
    ids = {run_id(lab.run(HELLO)) for _ in range(4)}
    assert len(ids) == 4
    # 128 bits each; consecutive runs share no long prefix (they are not a counter).
    a, b = sorted(ids)[:2]
    assert a[:12] != b[:12]


def test_a_streamed_run_is_stored_once_its_trace_line_is_sent(lab):
    r = requests.post(lab.server.base_url + "/api/v1/runs", json=HELLO,
                      headers={"Accept": "application/x-ndjson"}, timeout=20)
    last = json.loads(r.text.strip().splitlines()[-1])
    assert last["type"] == "trace", last
    trace = last["trace"]
    stored = lab.get(f"/api/v1/runs/{trace['run']['id']}")
    assert stored.json == trace
    # Byte for byte: the line is the stored JSON wrapped.
    assert r.content.rstrip(b"\n").splitlines()[-1] == b'{"type":"trace","trace":' + stored.body + b"}"


def test_store_false_is_answered_and_not_stored(lab):
    posted = lab.run({**HELLO, "store": False})
    assert posted.status == 200
    lab.get(f"/api/v1/runs/{run_id(posted)}").error(404, "not_found")
    lab.run({**HELLO, "store": "no"}).error(400, "invalid_request")


def test_unknown_ids_and_bad_parameters_are_clear_errors(lab):
    err = lab.get("/api/v1/runs/" + "0" * 32).error(404, "not_found")
    assert "no stored run" in err["message"]
    rid = run_id(lab.run(HELLO))
    assert lab.get(f"/api/v1/runs/{rid}?format=xml").error(400, "invalid_parameter")["path"] == "format"
    assert lab.get("/api/v1/runs?limit=0").error(400, "invalid_parameter")["path"] == "limit"
    assert lab.get("/api/v1/runs?limit=x").error(400, "invalid_parameter")["path"] == "limit"
    assert lab.get("/api/v1/runs?outcome=fine").error(400, "invalid_parameter")["path"] == "outcome"
    assert lab.get("/api/v1/runs?before=nope").error(400, "invalid_parameter")["path"] == "before"
    assert lab.get("/api/v1/runs?experiment=pipe.nope").error(404, "unknown_experiment")["path"] == "experiment"
    r = lab.request("DELETE", f"/api/v1/runs/{rid}")
    r.error(405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"
    assert "GET" in lab.request("PUT", "/api/v1/runs").headers["allow"]
    lab.get("/api/v1/grades/" + "0" * 32).error(404, "not_found")


def test_lists_page_newest_first_with_filters(own):
    _, lab = own()
    hello = [run_id(lab.run(HELLO)) for _ in range(3)]
    custom = [run_id(lab.run(CUSTOM))]
    hello.append(run_id(lab.run(HELLO)))
    newest_first = list(reversed(hello[:3] + custom + hello[3:]))

    page = lab.get("/api/v1/runs").json
    assert [r["id"] for r in page["runs"]] == newest_first
    assert page["next"] is None
    first = page["runs"][0]
    assert first["experiment"] == "pipe.hello" and first["outcome"] == "ok" and first["bytes"] > 0
    assert first["started_at"] == lab.get(f"/api/v1/runs/{first['id']}").json["run"]["started_at"]

    seen, before = [], None
    while True:
        page = lab.get("/api/v1/runs?limit=2" + (f"&before={before}" if before else "")).json
        assert len(page["runs"]) <= 2
        seen += [r["id"] for r in page["runs"]]
        before = page["next"]
        if before is None:
            break
    assert seen == newest_first

    assert [r["id"] for r in lab.get("/api/v1/runs?experiment=pipe.hello").json["runs"]] == list(reversed(hello))
    listed = lab.get("/api/v1/runs?experiment=custom").json["runs"]
    assert [r["id"] for r in listed] == custom and listed[0]["experiment"] is None
    assert len(lab.get("/api/v1/runs?outcome=ok").json["runs"]) == 5
    assert lab.get("/api/v1/runs?outcome=timeout").json["runs"] == []
    assert lab.get("/api/v1/runs?experiment=pipe.hello&limit=1").json["next"] == hello[-1]


def test_metrics_count_stored_runs_bytes_and_latency(own, backend):
    _, lab = own()
    for _ in range(2):
        lab.run(HELLO)
    lab.run({**HELLO, "store": False})
    metrics = lab.get("/metrics").text
    assert re.search(r"^ipclab_stored_runs 2$", metrics, re.M), metrics
    assert re.search(r"^ipclab_store_writes_total 2$", metrics, re.M)
    assert int(re.search(r"^ipclab_stored_bytes (\d+)$", metrics, re.M).group(1)) > 0
    assert re.search(r"^ipclab_store_duration_seconds_count 2$", metrics, re.M)
    # SQLite's journal: the two runs wait there for ~20 ms, then the import empties it; PostgreSQL has none.
    if backend == "sqlite":
        for _ in range(100):
            journaled = re.search(r"^ipclab_store_journaled (\d+)$", lab.get("/metrics").text, re.M)
            assert journaled, metrics
            if journaled.group(1) == "0":
                break
            time.sleep(0.05)
        assert journaled.group(1) == "0"
    else:
        assert "ipclab_store_journaled" not in metrics


def test_runs_survive_a_clean_restart(own, new_store):
    data = new_store()
    srv, lab = own(*data)
    posted = {run_id(r): r.body for r in (lab.run(HELLO), lab.run(CUSTOM))}
    assert srv.stop() == 0
    _, again = own(*data)
    for rid, body in posted.items():
        assert again.get(f"/api/v1/runs/{rid}").body == body
    assert len(again.get("/api/v1/runs").json["runs"]) == 2


def test_a_run_answered_200_survives_kill_9_right_after(own, new_store):
    data = new_store()
    srv, lab = own(*data)
    posted = lab.run(HELLO)
    assert posted.status == 200
    srv.process.send_signal(signal.SIGKILL)
    srv.process.wait(timeout=10)
    _, again = own(*data)
    assert again.get(f"/api/v1/runs/{run_id(posted)}").body == posted.body


def test_every_run_answered_200_survives_kill_9_under_load():
    """SQLite's journal: 4 clients post runs for ~1.5 s, the server is killed (SIGKILL) while they do, and
    restarted on the same data directory: every run it answered 200 reads back whole (the runs journaled and
    not yet imported at the kill among them)."""
    data = new_data_dir()
    srv = start_server("--data-dir", data)
    answered: dict[str, bytes] = {}
    lock = threading.Lock()
    stop = time.time() + 1.5

    def client() -> None:
        session = requests.Session()
        while time.time() < stop:
            try:
                r = session.post(f"{srv.base_url}/api/v1/runs", json=HELLO, timeout=10)
            except requests.RequestException:
                return  # the kill
            if r.status_code == 200:
                with lock:
                    answered[r.json()["run"]["id"]] = r.content

    clients = [threading.Thread(target=client) for _ in range(4)]
    for t in clients:
        t.start()
    time.sleep(1.0)
    srv.process.send_signal(signal.SIGKILL)
    srv.process.wait(timeout=10)
    for t in clients:
        t.join()
    assert len(answered) >= 20, len(answered)
    again = start_server("--data-dir", data)
    try:
        lab = Lab(again)
        lost = [i for i, body in answered.items() if lab.get(f"/api/v1/runs/{i}").body != body]
        assert lost == [], f"{len(lost)} of {len(answered)} runs answered 200 were lost"
    finally:
        assert again.stop() == 0, again.stderr_tail()


def test_retention_by_bytes_deletes_the_oldest(own):
    _, probe = own()
    probe.run(HELLO)
    one = probe.get("/api/v1/runs").json["runs"][0]["bytes"]
    limit = one * 3 + one // 2
    _, lab = own("--max-stored-bytes", str(limit))
    ids = [run_id(lab.run(HELLO)) for _ in range(6)]
    # On SQLite retention by bytes follows each import of the journal (~20 ms after a run): polled, not timed.
    for _ in range(200):
        journaled = re.search(r"^ipclab_store_journaled (\d+)$", lab.get("/metrics").text, re.M)
        if journaled is None or journaled.group(1) == "0":
            break
        time.sleep(0.05)
    listed = [r["id"] for r in lab.get("/api/v1/runs").json["runs"]]
    assert 1 <= len(listed) <= 4
    assert listed == list(reversed(ids))[:len(listed)]
    lab.get(f"/api/v1/runs/{ids[0]}").error(404, "not_found")
    metrics = lab.get("/metrics").text
    assert int(re.search(r"^ipclab_stored_bytes (\d+)$", metrics, re.M).group(1)) <= limit
    assert int(re.search(r"^ipclab_store_pruned_total (\d+)$", metrics, re.M).group(1)) >= 2


def test_retention_by_days_deletes_old_runs_at_start(own, new_store):
    data = new_store()
    srv, lab = own(*data)
    old = run_id(lab.run(HELLO))
    assert srv.stop() == 0
    time.sleep(1.5)  # older than the 0.00001 days (0.864 s) kept below, whatever the machine does
    _, again = own(*data, "--keep-days", "0.00001")
    again.get(f"/api/v1/runs/{old}").error(404, "not_found")
    fresh = run_id(again.run(HELLO))
    assert again.get(f"/api/v1/runs/{fresh}").status == 200


def test_a_data_dir_that_is_a_file_refuses_to_start(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a folder")
    done = subprocess.run([str(server_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--public", "public",
                           "--data-dir", str(f)],
                          cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "listening on" not in done.stdout
    assert "could not open the run store" in done.stderr, done.stderr[-2000:]


def test_a_data_dir_another_server_stores_into_refuses_to_start():
    """One server per SQLite data directory (its journal's lock): a second refuses with a clear error and
    the first goes on storing; once the first has stopped, the data directory opens again. (A PostgreSQL
    database is shared by design: "Running several instances".)"""
    data = new_data_dir()
    first = start_server("--data-dir", data)
    try:
        lab = Lab(first)
        stored = run_id(lab.run(HELLO))
        done = subprocess.run([str(server_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--public", "public",
                               "--data-dir", data],
                              cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
        assert "listening on" not in done.stdout
        assert "one server per data directory" in done.stderr, done.stderr[-2000:]
        assert lab.get(f"/api/v1/runs/{run_id(lab.run(HELLO))}").status == 200
    finally:
        assert first.stop() == 0, first.stderr_tail()
    again = start_server("--data-dir", data)
    try:
        assert Lab(again).get(f"/api/v1/runs/{stored}").status == 200
    finally:
        assert again.stop() == 0, again.stderr_tail()


def test_a_grade_and_its_failing_run_are_stored(lab):
    """A grade is stored with an id; the run behind a failed check can be fetched by its id; "store": false
    leaves both out."""
    body = {"experiment": "pipe.hello", "repeat": 2,
            "checks": [{"id": "ends", "kind": "outcome", "is": "ok"},
                       {"id": "never", "kind": "exit", "process": "child", "code": 7}]}
    graded = lab.post_json("/api/v1/grades", body)
    assert graded.status == 200, graded.body[:300]
    grade = graded.json
    assert re.fullmatch(r"[0-9a-f]{32}", grade["id"]), grade.get("id")
    assert not grade["passed"] and grade["failing_trace"] is not None
    stored = lab.get(f"/api/v1/grades/{grade['id']}")
    assert stored.status == 200
    assert stored.json == grade
    failing = lab.get(f"/api/v1/runs/{grade['failing_trace']['run']['id']}")
    assert failing.status == 200
    assert failing.json["run"]["id"] == grade["failing_trace"]["run"]["id"]

    unstored = lab.post_json("/api/v1/grades", {**body, "store": False})
    assert unstored.status == 200 and "id" not in unstored.json
    assert lab.get(f"/api/v1/runs/{unstored.json['failing_trace']['run']['id']}").status == 404


def test_a_run_answered_200_survives_a_database_server_crash(postgres: Postgres):
    """PostgreSQL stopped with `-m immediate` (no checkpoint: its crash recovery replays the WAL) right
    after a 200, then started again: the run is there, because the 200 waited for the WAL flush."""
    url = postgres.create_database()
    srv = start_server("--database", url)
    try:
        lab = Lab(srv)
        posted = lab.run(HELLO)
        assert posted.status == 200
        postgres.stop("immediate")
        postgres.start()
        # The run is there; and the first request after the restart is answered on a new connection
        # (the pool checks an idle one before lending it: the old server hung up on it).
        got = lab.get(f"/api/v1/runs/{run_id(posted)}")
        assert got.status == 200 and got.body == posted.body, got.body[:300]
        postgres.stop("immediate")
        # With the database down, a run cannot be stored: a 503, never a 200 that was not stored.
        down = lab.run(HELLO)
        down.error(503, "unavailable")
        assert "stored" in down.json["error"]["message"]
        # Reads too: a 503 (with Retry-After, as openapi.yaml says), not a 404 for a run that is there.
        unread = lab.get(f"/api/v1/runs/{run_id(posted)}")
        unread.error(503, "unavailable")
        assert int(unread.headers["retry-after"]) >= 0
        lab.get("/api/v1/runs").error(503, "unavailable")
        postgres.start()
        again = lab.run(HELLO)
        assert again.status == 200
        assert lab.get(f"/api/v1/runs/{run_id(again)}").body == again.body
    finally:
        assert srv.stop() == 0, srv.stderr_tail()


def test_a_database_that_cannot_be_reached_or_named_refuses_to_start(postgres: Postgres):
    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(server_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--public", "public",
                               *args], cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    closed = serve("--database", f"postgresql://ipclab:secret@127.0.0.1:{postgres.port}/no_such_database")
    assert closed.returncode == 1, (closed.returncode, closed.stderr[-2000:])
    assert "could not open the run store" in closed.stderr and "no_such_database" in closed.stderr
    assert "secret" not in closed.stderr + closed.stdout
    bad = serve("--database", "mysql://x@127.0.0.1/db")
    assert bad.returncode != 0 and "--database must be a postgresql:// URL" in bad.stderr
    both = serve("--database", postgres.url(), "--data-dir", new_data_dir())
    assert both.returncode != 0 and "give one" in both.stderr
