"""Issue 3, pipes and FIFOs: pipe.sigpipe, pipe.nonblocking, pipe.duplex, pipe.pipeline and
fifo.rendezvous through HTTP (every response checked against openapi.yaml) and the CLI."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness import preset_ids, server_binary
from contract import REPO
from traces import calls, check_trace, payload_bytes, process, run_ok as run_trace, holds, check_claim_holds, cli_run_ok, \
    check_catalog_entry, check_preset_as_custom_scenario

PRESETS = preset_ids("pipe", "fifo")
# Processes a preset's defaults end by a signal, on purpose.
KILLED = {"pipe.sigpipe": {"writer": "SIGPIPE"}, "pipe.pipeline": {"random": "SIGPIPE", "alnum": "SIGPIPE"}}


def run_ok(lab, body):
    # Every observation cites the events that show it — also when the parameters make it false.
    return run_trace(lab, body, require_evidence=True)


@pytest.mark.parametrize("exp_id", PRESETS)
def test_defaults_show_the_claim(lab, catalog, exp_id):
    trace = run_ok(lab, {"experiment": exp_id})
    check_claim_holds(trace, catalog[exp_id]["observations"])
    for p in trace["processes"]:
        killed = KILLED.get(exp_id, {}).get(p["name"])
        assert p["exit"] == ({"signal": killed, "core_dumped": False} if killed else {"code": 0}), p


@pytest.mark.parametrize("exp_id", PRESETS)
def test_catalog_entry_and_scenario(lab, catalog, exp_id):
    check_catalog_entry(lab, catalog, exp_id, exp_id.split(".")[0])


@pytest.mark.parametrize("exp_id", PRESETS)
def test_preset_scenario_runs_as_a_custom_scenario(lab, exp_id):
    check_preset_as_custom_scenario(lab, exp_id, run_ok)


def test_sigpipe_ignored_gives_epipe(lab):
    trace = run_ok(lab, {"experiment": "pipe.sigpipe", "params": {"disposition": "ignore"}})
    last = calls(trace, "write", "writer")[-1]
    assert (last["result"], last["errno"]) == (-1, "EPIPE"), last
    assert process(trace, "writer")["exit"] == {"code": 0}
    assert all(holds(trace).values())


def test_sigpipe_writer_keeping_its_read_end_is_reported(lab):
    trace = run_ok(lab, {"experiment": "pipe.sigpipe", "params": {"writer_closes_read_end": False}})
    assert [e["result"] for e in calls(trace, "write", "writer")] == [5, 6]
    assert holds(trace) == {"write_fails": False, "disposition_decides": False}


def test_nonblocking_read_gets_eagain_then_waits(lab):
    trace = run_ok(lab, {"experiment": "pipe.nonblocking", "params": {"writer_delay_ms": 80, "message": "xyz"}})
    first, second = calls(trace, "read", "reader")[:2]
    assert first["errno"] == "EAGAIN"
    assert second["result"] == 3 and second["blocked_ns"] > 20_000_000, second


def test_duplex_with_one_pipe_times_out_with_its_own_message(lab):
    trace = run_ok(lab, {"experiment": "pipe.duplex", "params": {"pipes": 1}, "limits": {"wall_ms": 3000}})
    # The child waits for a message that never comes, and nobody left can send one: a deadlock.
    assert trace["run"]["outcome"] == "deadlock", trace["run"]
    assert payload_bytes(calls(trace, "read", "parent")) == b"ping"
    assert holds(trace) == {"each_reads_the_other": False, "one_way_each": False}


def test_pipeline_output_and_sigpipe(lab):
    trace = run_ok(lab, {"experiment": "pipe.pipeline"})
    out = [e for e in calls(trace, "read", "shell") if e["args"].get("channel") == "out"]
    data = payload_bytes(out)
    assert len(data) == 20 and data.isalnum(), data
    assert sorted(e["result"] for e in calls(trace, "dup2")) == [0, 0, 1, 1, 1]


def test_pipeline_with_other_stages(lab):
    trace = run_ok(lab, {"experiment": "pipe.pipeline", "params": {"stages": "random | take 100"}})
    assert [p["name"] for p in trace["processes"]] == ["shell", "random", "take"]
    out = [e for e in calls(trace, "read", "shell") if e["args"].get("channel") == "out"]
    assert sum(e["result"] for e in out) == 100
    assert process(trace, "random")["exit"] == {"signal": "SIGPIPE", "core_dumped": False}


def test_pipeline_bad_stages_are_rejected(lab):
    e = lab.run({"experiment": "pipe.pipeline", "params": {"stages": "random | grep x"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.stages"
    assert "grep" in e["message"]


def test_fifo_nonblocking_nobody_waits(lab):
    trace = run_ok(lab, {"experiment": "fifo.rendezvous", "params": {"nonblocking": True, "delay_ms": 50}})
    assert [e["errno"] for e in calls(trace, "open", "writer")] == ["ENXIO", "ENXIO"]
    assert not any(holds(trace).values())


def test_fifo_opens_block_until_the_other_side(lab):
    trace = run_ok(lab, {"experiment": "fifo.rendezvous", "params": {"delay_ms": 150}})
    reader_open = calls(trace, "open", "reader")[0]
    assert reader_open["blocked_ns"] > 100_000_000, reader_open


def test_text_format_of_the_pipeline(lab):
    r = lab.run({"experiment": "pipe.pipeline"}, params={"format": "text"})
    assert r.status == 200
    assert "dup2(" in r.text and "killed by SIGPIPE" in r.text


@pytest.mark.parametrize("args", [
    ["pipe.sigpipe", "--param", "disposition=handle"],
    ["pipe.pipeline", "--param", "stages=random | alnum | take 8"],
    ["fifo.rendezvous", "--param", "delay_ms=10"],
])
def test_cli_runs_the_presets(args):
    trace = cli_run_ok(str(server_binary()), args, REPO)
