"""The end-to-end harness: the real `ipclab serve` on a free port, and an HTTP client that checks every
response it gets against openapi.yaml.

The binary is $IPCLAB_BIN (default `.build/debug/ipclab`, relative to the repository root). The server
runs with the repository root as its working directory, as
`ipclab serve --host 127.0.0.1 --port 0 --public public`, and tells its port on stdout in a line that
contains `listening on http://HOST:PORT`.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from contract import REPO, check_response

STARTUP_TIMEOUT_S = float(os.environ.get("IPCLAB_STARTUP_TIMEOUT", "30"))
STOP_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 20.0
# The host uids (and gids) runs get: the server's default --run-uid-base and --run-uid-count.
RUN_UIDS = range(2_000_000_000, 2_000_000_000 + 65536)
LISTENING = re.compile(r"listening on http://(\[[0-9a-fA-F:.]+\]|[^\s:/]+):(\d+)")


def server_binary() -> Path:
    path = Path(os.environ.get("IPCLAB_BIN", ".build/debug/ipclab"))
    return path if path.is_absolute() else REPO / path


@dataclass
class Server:
    """A running `ipclab serve`."""

    process: subprocess.Popen
    host: str
    port: int
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stderr_tail(self, lines: int = 40) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """Send `sig` and wait; answer the exit status, or None if it did not exit in time (then kill it)."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


_DATA_DIRS: list[str] = []


def new_data_dir() -> str:
    """A new, empty folder for a server's run store, removed when the tests end."""
    path = tempfile.mkdtemp(prefix="ipclab-e2e-data-")
    if not _DATA_DIRS:
        atexit.register(lambda: [shutil.rmtree(p, ignore_errors=True) for p in _DATA_DIRS])
    _DATA_DIRS.append(path)
    return path


def start_server(*extra_args: str, wrapper: tuple[str, ...] = ()) -> Server:
    """Start `ipclab serve` with `extra_args`; `wrapper` is a command line it runs under (its last
    word is followed by the server's), e.g. e2e/userns_limited.py."""
    binary = server_binary()
    if not binary.is_file():
        pytest.fail(f"no server binary at {binary}: build it with `swift build` (or set IPCLAB_BIN)",
                    pytrace=False)
    stderr_file = tempfile.NamedTemporaryFile(prefix="ipclab-e2e-", suffix=".stderr", delete=False)
    if not {"--data-dir", "--no-store", "--database"} & set(extra_args):
        # Each server stores its runs in a folder of its own, never in the user's default store.
        extra_args = ("--data-dir", new_data_dir(), *extra_args)
    process = subprocess.Popen(
        [*wrapper, str(binary), "serve", "--host", "127.0.0.1", "--port", "0", "--public", "public", *extra_args],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file,
        text=True, errors="replace", bufsize=1,
    )
    stderr_file.close()
    lines: list[str] = []
    found: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        # Keep reading stdout for the server's whole life, so it never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            found.put(line)
        found.put(None)

    threading.Thread(target=drain, name="ipclab-stdout", daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        line = None
        try:
            line = found.get(timeout=max(remaining, 0.01)) if remaining > 0 else None
        except queue.Empty:
            pass
        if line is not None:
            m = LISTENING.search(line)
            if m:
                host = m.group(1)
                server = Server(process, host, int(m.group(2)), Path(stderr_file.name), lines)
                return server
            continue
        # EOF on stdout (the process is ending: give it a moment), or the time ran out.
        try:
            process.wait(timeout=2 if remaining > 0 else 0.01)
        except subprocess.TimeoutExpired:
            pass
        if process.poll() is None:
            process.kill()
            process.wait()
            why = (f"printed no line with 'listening on http://HOST:PORT' on stdout within "
                   f"{STARTUP_TIMEOUT_S:.0f} s (stdout is a pipe here: is the line flushed?)")
        else:
            process.wait()
            why = (f"exited with status {process.returncode} before printing "
                   f"'listening on http://HOST:PORT' on stdout")
        stderr = Path(stderr_file.name).read_text(errors="replace")[-4000:]
        pytest.fail(f"`{binary} serve` {why}\nstdout:\n" + "\n".join(lines[-20:]) +
                    f"\nstderr:\n{stderr}", pytrace=False)


@dataclass
class Reply:
    """One HTTP response, already checked against openapi.yaml."""

    status: int
    headers: dict[str, str]
    body: bytes
    value: Any  # parsed JSON, text for text media, else the bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def json(self) -> Any:
        assert self.content_type.startswith("application/json"), \
            f"expected JSON, got {self.content_type!r}: {self.body[:300]!r}"
        return self.value

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def error(self, status: int, code: str) -> dict[str, Any]:
        """Assert this is the error `code` with `status`; answer error.{code,message,path}."""
        assert self.status == status, f"expected {status} {code}, got {self.status}: {self.body[:500]!r}"
        body = self.json
        assert body["error"]["code"] == code, f"expected code {code}, got {body}"
        return body["error"]


class Lab:
    """HTTP client for the server under test. Every response is validated against openapi.yaml."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = requests.Session()
        self.checked = 0

    def _checked(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> Reply:
        headers = {k.lower(): v for k, v in headers.items()}
        value = check_response(method, path, status, body, headers.get("content-type"), headers)
        self.checked += 1
        return Reply(status, headers, body, value)

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        r = self.session.request(method, self.server.base_url + path, **kwargs)
        return self._checked(method, r.request.path_url, r.status_code, dict(r.headers), r.content)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Reply:
        return self.request("POST", path, json=body, **kwargs)

    def run(self, body: Any, **kwargs: Any) -> Reply:
        return self.post_json("/api/v1/runs", body, **kwargs)

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = REQUEST_TIMEOUT_S) -> Reply:
        """Send exactly this request line, headers and body (no URL normalisation)."""
        conn = http.client.HTTPConnection(self.server.host.strip("[]"), self.server.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may answer (413) before it has read the whole body
            r = conn.getresponse()
            data = r.read()
            return self._checked(method, path, r.status, dict(r.getheaders()), data)
        finally:
            conn.close()


def preset_ids(*mechanisms: str) -> list[str]:
    """The ids of the catalog's presets of these mechanisms (`pipe`, `fifo`, `shm`, …), in catalog order:
    what GET /api/v1/experiments lists, which `ipclab experiments --json` prints (the same body), read
    once when the tests are collected so that suites are parametrised over the catalog, not a copy.
    Test `test_api.py::test_catalog_ids_match_the_server` checks the two agree."""
    if not hasattr(preset_ids, "catalog"):
        out = subprocess.run([str(server_binary()), "experiments", "--json"], capture_output=True, check=True, timeout=60)
        preset_ids.catalog = json.loads(out.stdout)["experiments"]  # type: ignore[attr-defined]
    return [e["id"] for e in preset_ids.catalog if e["mechanism"] in mechanisms]  # type: ignore[attr-defined]


def children(pid: int) -> list[int]:
    """The children of every thread of `pid` (/proc/PID/task/*/children); a thread gone meanwhile is skipped."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def describe(pid: int | str) -> str:
    """A process's name, state and parent, for a failure message."""
    try:
        status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
        return f"{pid} {status.get('Name', '?')} {status.get('State', '?')} ppid {status.get('PPid', '?')}"
    except OSError:
        return f"{pid} (gone)"


def read_until_closed(s: socket.socket, limit_s: float) -> bytes:
    """Everything the server sends until it closes (or resets) the connection; fails after `limit_s`."""
    s.settimeout(limit_s)
    chunks = []
    deadline = time.monotonic() + limit_s
    try:
        while True:
            assert time.monotonic() < deadline, "the server did not close the connection in time"
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail(f"the server did not close the connection within {limit_s} s")
    return b"".join(chunks)
