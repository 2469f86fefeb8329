"""Several instances on one database (issue 17, item 4): servers are stateless apart from the store, so
any instance answers for any run. PostgreSQL from Debian's packages (postgres.py), two ipclab instances
on it with their own ports, admin ports and run uid blocks, nginx in front (round-robin, its config
written here); eight clients post runs through nginx while one instance is killed (SIGKILL). Then
every run that got a 200 reads back, byte for byte, from the surviving instance, and the clients saw
only 200, 502 or 503."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from harness import Lab, Server, start_server
from postgres import Postgres, free_port

HELLO = {"experiment": "pipe.hello"}
CLIENTS = 8
RUNS_PER_CLIENT = 12
# Each instance's block of host uids for runs (three per live run): far apart, neither the default one
# the other tests' servers use, so that no two servers ever hand out the same uid.
UID_BLOCKS = [(2_100_000_000, 4096), (2_100_100_000, 4096)]


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None:
        pytest.fail("no nginx installed: run scripts/setup.sh --test", pytrace=False)
    return path


class Nginx:
    """nginx in the foreground on a free port, round-robin over `upstreams` (host:port)."""

    def __init__(self, upstreams: list[str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ipclab-e2e-nginx-"))
        self.port = free_port()
        servers = "\n".join(f"        server {u};" for u in upstreams)
        # As root nginx's workers would switch to nobody, who cannot write this folder's temp paths.
        user = "user root root;" if os.geteuid() == 0 else ""
        (self.root / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {self.root}/body;
    proxy_temp_path {self.root}/proxy;
    fastcgi_temp_path {self.root}/fastcgi;
    uwsgi_temp_path {self.root}/uwsgi;
    scgi_temp_path {self.root}/scgi;
    upstream ipclab {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://ipclab;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 30s;
        }}
    }}
}}
""")
        self.process = subprocess.Popen([nginx_binary(), "-p", str(self.root), "-c", str(self.root / "nginx.conf")],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=open(self.root / "stderr", "w"))
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("nginx did not start:\n" + self.log())
                time.sleep(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in (self.root / "stderr", self.root / "error.log")
                         if p.exists())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def admin_port(srv: Server) -> int:
    """The admin port the server printed (`ipclab: admin (/healthz, /metrics) on http://HOST:PORT`)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in srv.stdout_lines:
            m = re.search(r"admin \(/healthz, /metrics\) on http://[^:]+:(\d+)", line)
            if m:
                return int(m.group(1))
        time.sleep(0.05)
    raise AssertionError(f"no admin port line in {srv.stdout_lines}")


def metric(text: str, name: str) -> int:
    return int(float(re.search(rf"^{name} (\S+)$", text, re.M).group(1)))


@pytest.fixture
def instances(postgres: Postgres):
    url = postgres.create_database()
    servers = [start_server("--database", url, "--admin-port", "0", "--run-uid-base", str(base),
                            "--run-uid-count", str(count))
               for base, count in UID_BLOCKS]
    proxy = Nginx([f"127.0.0.1:{s.port}" for s in servers])
    yield servers, proxy
    proxy.stop()
    for srv in servers:
        srv.stop()


def test_any_instance_answers_for_any_run_and_a_killed_one_loses_no_answered_run(instances):
    servers, proxy = instances
    victim, survivor = servers
    ports = {admin_port(s) for s in servers} | {s.port for s in servers}
    assert len(ports) == 4, "each instance has its own port and admin port"

    results: list[tuple[int, str | None, bytes]] = []
    lock = threading.Lock()
    answered = threading.Semaphore(0)

    def client() -> None:
        with requests.Session() as session:
            for _ in range(RUNS_PER_CLIENT):
                try:
                    r = session.post(proxy.base_url + "/api/v1/runs", json=HELLO, timeout=60)
                    rid = r.json()["run"]["id"] if r.status_code == 200 else None
                    entry = (r.status_code, rid, r.content)
                except requests.RequestException as e:  # nginx itself never hangs up on a client here
                    entry = (-1, None, repr(e).encode())
                with lock:
                    results.append(entry)
                answered.release()

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(CLIENTS)]
    for t in threads:
        t.start()
    # Mid-load: once a quarter of the runs are answered, with the others in flight.
    for _ in range(CLIENTS * RUNS_PER_CLIENT // 4):
        assert answered.acquire(timeout=120), "the clients stopped getting answers"
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    for t in threads:
        t.join(timeout=300)
        assert not t.is_alive(), "a client is still waiting"

    statuses = sorted({status for status, _, _ in results})
    assert set(statuses) <= {200, 502, 503}, (statuses, [b[:300] for s, _, b in results if s not in (200, 502, 503)])
    stored = {rid: body for status, rid, body in results if status == 200}
    assert len(results) == CLIENTS * RUNS_PER_CLIENT
    # Most runs are answered; the survivor served the load after the kill.
    assert len(stored) >= CLIENTS * RUNS_PER_CLIENT // 2, statuses

    direct = Lab(survivor)
    own_writes = metric(direct.get("/metrics").text, "ipclab_store_writes_total")
    # Round-robin did send runs to the instance that was killed: the survivor stored only some of them.
    assert own_writes < len(stored), (own_writes, len(stored))
    for rid, body in stored.items():
        got = direct.get(f"/api/v1/runs/{rid}")
        assert got.status == 200, f"run {rid} answered 200 but the survivor has no such run: {got.body[:300]!r}"
        assert got.body == body
    listed = set()
    before = None
    while True:
        page = direct.get("/api/v1/runs?limit=200" + (f"&before={before}" if before else "")).json
        listed |= {r["id"] for r in page["runs"]}
        before = page["next"]
        if before is None:
            break
    assert set(stored) <= listed
    # The survivor's gauges are the database's (read every 10 s, and at start): at most a few seconds late.
    deadline = time.monotonic() + 30
    while metric(direct.get("/metrics").text, "ipclab_stored_runs") < len(listed) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert metric(direct.get("/metrics").text, "ipclab_stored_runs") == len(listed)

    # Through nginx, after the kill, every stored run still reads back (nginx passes a GET on when
    # the dead instance refuses the connection).
    some = list(stored)[:8]
    for rid in some:
        r = requests.get(f"{proxy.base_url}/api/v1/runs/{rid}?format=text", timeout=30)
        assert r.status_code == 200 and r.text.startswith(f"# run {rid} "), (r.status_code, r.text[:200])
