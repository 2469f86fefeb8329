"""Fuzzing: schemathesis generates requests from openapi.yaml for every operation (valid ones, and
ones that break the schema) and checks each response: never a 5xx, a documented status, the
documented Content-Type and headers, a body that matches its schema.

Bounded for `make test`: IPCLAB_FUZZ_EXAMPLES (default 25) cases per operation and phase, a fixed
seed (IPCLAB_FUZZ_SEED) so a failure reproduces, and a time limit. The longer run is in the README.
"""

from __future__ import annotations

import os
import subprocess
import sys

from contract import REPO
from harness import start_server

EXAMPLES = int(os.environ.get("IPCLAB_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("IPCLAB_FUZZ_SEED", "20261121")
LIMIT_S = float(os.environ.get("IPCLAB_FUZZ_TIMEOUT", "150"))
# What the issue asks of every response. Left out: the request-side checks (whether the server is as
# strict or as lenient as the schema about requests: e.g. null counts as absent, see openapi.yaml).
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])


def schemathesis() -> list[str]:
    # As a module of this interpreter: a venv made with system site-packages has no
    # <venv>/bin/schemathesis when schemathesis was already installed system-wide.
    return [sys.executable, "-m", "schemathesis.cli"]  # `-m schemathesis` has no __main__ (4.x)


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path):
    # The runs it sends queue like anyone's: plenty of run threads and queue, so none is refused 503.
    srv = start_server("--max-runs", "8", "--run-queue", "256")
    try:
        command = [
            *schemathesis(), "run", str(REPO / "openapi.yaml"), "--url", srv.base_url,
            "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", SEED,
            # One worker: with two, hypothesis' ast.parse calls race in CPython 3.11 (the AST
            # validator's recursion depth is shared by threads: "SystemError: AST constructor
            # recursion depth mismatch"), a generator crash, not a finding; more operations made it likelier.
            "--workers", "1", "--request-timeout", "30", "--no-color",
            "--report", "junit", "--report-dir", str(tmp_path),
            "--generation-database", "none",
        ]
        try:
            done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=LIMIT_S)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"schemathesis did not finish within {LIMIT_S:.0f} s:\n{(e.stdout or '')[-3000:]}")
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"schemathesis found problems ({' '.join(command)}):\n{output[-8000:]}"
        # It really tested every operation it selected (all of them: no filter is given).
        tested = [line for line in output.splitlines() if line.strip().startswith("Tested:")]
        selected = [line for line in output.splitlines() if line.strip().startswith("Selected:")]
        assert tested and selected and tested[0].split()[-1] == selected[0].split()[-1].split("/")[0], output[-2000:]
    finally:
        assert srv.stop() == 0, srv.stderr_tail()
