"""A throw-away PostgreSQL cluster for the tests, from Debian's packages (`scripts/setup.sh --test`
installs `postgresql`): `initdb` into a temporary folder, `pg_ctl` on a free port of 127.0.0.1 with
its unix socket in that folder too. As root (CI, the server's tests) it runs as the `postgres` user
the package made (PostgreSQL refuses to run as root), else as the current user. Nothing of the
machine's own clusters is touched."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

try:
    import pytest

    def _fail(message: str) -> None:
        pytest.fail(message, pytrace=False)
except ImportError:  # bench/bench.py uses this module too, with the system's python3
    def _fail(message: str) -> None:
        raise SystemExit(message)


def bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (`/usr/lib/postgresql/N/bin`: not on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        _fail("no PostgreSQL server installed (/usr/lib/postgresql/*/bin/initdb): run scripts/setup.sh --test")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """One cluster: `start()`, `url(db)`, `create_database()`, `stop(mode)`; `cleanup()` removes it."""

    _names = itertools.count(1)

    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="ipclab-e2e-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                self.user = pwd.getpwnam("nobody")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.root, 0o755)
        self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", "ipclab", "--auth=trust",
                        "-E", "UTF8", "--no-sync"])

    def _as_owner(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        done = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **kwargs)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}")
        return done

    def start(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                f"-c max_connections=100 -c fsync=on")
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts,
                        "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown; `immediate`: as if the database server crashed (no checkpoint)."""
        self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://ipclab@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        psql = self.bin / "psql"
        done = subprocess.run([str(psql), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-c", sql],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def create_database(self) -> str:
        """A new, empty database; answers its URL."""
        name = f"ipclab_{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        except (AssertionError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
