"""The gallery of example C programs (GET /api/v1/programs): each example compiles cleanly with the
host's gcc (-Wall -Wextra -Werror), runs natively to exit 0 printing what its stdout checks look for,
and runs through the API to `ok` with every one of its checks passing."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness import REPO

GALLERY_IDS = ["c.pipe_parent_child", "c.fifo", "c.sysv_shm", "c.posix_shm_sem", "c.message_queue",
               "c.signal_handler", "c.socket_server_client"]


@pytest.fixture(scope="module")
def gallery(lab: Any) -> dict[str, dict[str, Any]]:
    r = lab.get("/api/v1/programs")
    assert r.status == 200, r.body[:500]
    return {e["id"]: e for e in r.json["programs"]}


def test_gallery_lists_one_example_per_mechanism(gallery: dict[str, dict[str, Any]], catalog: dict[str, Any]) -> None:
    assert sorted(gallery) == sorted(GALLERY_IDS)
    assert {e["mechanism"] for e in gallery.values()} >= {"pipe", "fifo", "shm", "sem", "mq", "signal", "socket"}
    observations = {o for e in catalog.values() for o in e["observations"]}
    for entry in gallery.values():
        assert set(entry["observations"]) <= observations, entry["id"]
        for program in entry["programs"]:
            # The source is the repository's file (the server embeds programs/ when built).
            assert program["source"] in {p.read_text() for p in (REPO / "programs").glob("*.c")}, program["name"]


def stdout_checks(entry: dict[str, Any]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for c in entry["checks"]:
        if c["kind"] == "stdout":
            wanted.setdefault(c["process"], []).append(c["contains"])
    return wanted


@pytest.mark.parametrize("example", GALLERY_IDS)
def test_example_compiles_cleanly_and_runs_natively(gallery: dict[str, dict[str, Any]], example: str) -> None:
    entry = gallery[example]
    with tempfile.TemporaryDirectory(prefix="ipclab-gallery-") as tmp:
        binaries = {}
        for program in entry["programs"]:
            src = Path(tmp) / f"{program['name']}.c"
            src.write_text(program["source"])
            binary = Path(tmp) / program["name"]
            cc = subprocess.run(["gcc", "-std=gnu17", "-Wall", "-Wextra", "-Werror", "-O0", "-o", str(binary), str(src)],
                                capture_output=True, text=True, timeout=60)
            assert cc.returncode == 0, f"{program['name']}: {cc.stderr}"
            binaries[program["name"]] = binary
        # Started together, as a run starts them (the client retries until the server listens).
        procs = {name: subprocess.Popen([str(b)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp)
                 for name, b in binaries.items()}
        outputs = {name: p.communicate(timeout=20) for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, f"{name} exited {p.returncode}: {outputs[name][1]}"
    for name, texts in stdout_checks(entry).items():
        for text in texts:
            assert text in outputs[name][0], f"{name} printed {outputs[name][0]!r}, without {text!r}"
