"""Issue 3, signals: every signal.* preset through HTTP (every response checked against
openapi.yaml) and the CLI, with defaults and changed parameters; signals never leave the run."""

from __future__ import annotations

import pytest

from harness import server_binary
from contract import REPO
from traces import calls, process, run_ok as run_trace, check_claim_holds, cli_run_ok, \
    check_preset_as_custom_scenario
from harness import preset_ids

PRESETS = preset_ids("signal")
# Processes a preset's defaults end by a signal, on purpose (the core flag is what the kernel said).
KILLED = {"signal.dispositions": {"target": "SIGTERM"}, "signal.fault": {"segv": "SIGSEGV", "fpe": "SIGFPE"},
          "signal.unblockable": {"target": "SIGKILL"}}
# signal.sigint's handler calls exit(-1), as the seed's int_handler does: status 255.
EXIT_CODES = {"signal.sigchld": {"child": 7}, "signal.sigint": {"program": 255}}


def run_ok(lab, body):
    # Every observation cites the events that show it — also when the parameters make it false.
    return run_trace(lab, body, require_evidence=True)


def deliveries(trace, process_name, signal=None):
    return [e for e in calls(trace, "deliver", process_name) if signal is None or e["args"]["signal"] == signal]


def holds(trace):
    return [o["holds"] for o in trace["observations"]]


@pytest.mark.parametrize("exp_id", PRESETS)
def test_defaults_show_the_claim(lab, catalog, exp_id):
    trace = run_ok(lab, {"experiment": exp_id, "params": {}})
    assert catalog[exp_id]["mechanism"] == "signal"
    check_claim_holds(trace, catalog[exp_id]["observations"])
    for p in trace["processes"]:
        killed = KILLED.get(exp_id, {}).get(p["name"])
        if killed:
            assert p["exit"]["signal"] == killed, p
        else:
            assert p["exit"] == {"code": EXIT_CODES.get(exp_id, {}).get(p["name"], 0)}, p


@pytest.mark.parametrize("exp_id", PRESETS)
def test_preset_scenario_runs_as_a_custom_scenario(lab, exp_id):
    check_preset_as_custom_scenario(lab, exp_id, run_ok)


def test_handshake_deliveries_carry_siginfo(lab):
    trace = run_ok(lab, {"experiment": "signal.handshake"})
    got = deliveries(trace, "b", "SIGUSR1")[0]["args"]
    assert got["si_code"] == "SI_USER"
    assert got["si_pid"] == process(trace, "a")["pid"] and got["sender"] == "a"
    assert got["si_uid"] == 0
    answer = [e for e in calls(trace, "kill", "b") if e["args"]["from_handler"]]
    assert answer and answer[0]["result"] == 0
    assert deliveries(trace, "a", "SIGUSR2")[0]["args"]["si_pid"] == process(trace, "b")["pid"]


def test_handshake_without_handler_reports_false(lab):
    trace = run_ok(lab, {"experiment": "signal.handshake", "params": {"install_handler": False}})
    assert process(trace, "b")["exit"] == {"signal": "SIGUSR1", "core_dumped": False}
    assert holds(trace) == [False, False]
    assert all(o["evidence"] for o in trace["observations"])


def test_sigqueue_value_and_numbers_for_signals(lab):
    trace = run_ok(lab, {"experiment": "signal.sigqueue", "params": {"signal": 40, "value": 2024}})
    got = deliveries(trace, "receiver")[0]["args"]
    assert got["signal"] == "SIGRTMIN+6"
    assert got["si_code"] == "SI_QUEUE" and got["si_value"]["sival_int"] == 2024
    assert trace["scenario"]["processes"][0]["steps"][1]["signal"] == "SIGRTMIN+6"


def test_pointer_is_an_address_only(lab):
    trace = run_ok(lab, {"experiment": "signal.pointer", "params": {"text": "only mine"}})
    sent = calls(trace, "sigqueue", "sender")[0]["args"]["value"]["sival_ptr"]
    assert deliveries(trace, "receiver")[0]["args"]["si_value"]["sival_ptr"] == sent
    assert all(holds(trace))


def test_pointer_after_fork_is_unmapped_in_the_receiver(lab):
    trace = run_ok(lab, {"experiment": "signal.pointer", "params": {"before_fork": False}})
    assert calls(trace, "process_vm_readv", "receiver")[0]["errno"] == "EFAULT"
    assert holds(trace) == [True, True, False]


def test_pointer_receiver_text_equal_to_text_is_refused(lab):
    r = lab.run({"experiment": "signal.pointer", "params": {"text": "same", "receiver_text": "same"}})
    assert r.error(400, "invalid_parameter")["path"] == "params.receiver_text"


def test_coalescing_counts_deliveries(lab):
    trace = run_ok(lab, {"experiment": "signal.coalescing", "params": {"count": 7}})
    assert len(deliveries(trace, "receiver", "SIGUSR1")) == 1
    rt = deliveries(trace, "receiver", "SIGRTMIN")
    assert [e["args"]["si_value"]["sival_int"] for e in rt] == list(range(1, 8))


def test_coalescing_unblocked_between_sends_is_false_with_evidence(lab):
    trace = run_ok(lab, {"experiment": "signal.coalescing", "params": {"count": 4, "blocked": False}})
    assert len(deliveries(trace, "receiver", "SIGUSR1")) == 4
    merged, queued = trace["observations"]
    assert merged["holds"] is False and merged["evidence"], merged
    assert queued["holds"] is True


def test_blocked_signal_is_pending(lab):
    trace = run_ok(lab, {"experiment": "signal.blocked", "params": {"signal": "SIGUSR2", "hold_ms": 20}})
    assert calls(trace, "sigpending", "receiver")[0]["args"]["set"] == ["SIGUSR2"]
    assert all(holds(trace))


@pytest.mark.parametrize("signal,disposition,exit_", [
    ("SIGTERM", "handle", {"code": 0}),
    ("SIGUSR1", "ignore", {"code": 0}),
    ("SIGKILL", "handle", {"signal": "SIGKILL", "core_dumped": False}),
    ("SIGSTOP", "default", {"code": 0}),
    ("SIGCHLD", "default", {"code": 0}),
])
def test_dispositions(lab, signal, disposition, exit_):
    trace = run_ok(lab, {"experiment": "signal.dispositions", "params": {"signal": signal, "disposition": disposition}})
    assert process(trace, "target")["exit"] == exit_
    assert all(holds(trace)), trace["observations"]
    set_ = calls(trace, "sigaction", "target")[0]
    if signal in ("SIGKILL", "SIGSTOP"):
        assert (set_["result"], set_["errno"]) == (-1, "EINVAL")
    if signal == "SIGSTOP":
        states = [o["state"].get("state") for o in trace["objects"] if o["kind"] == "process"]
        assert "T" in states, states


def test_sigint_without_handler_terminates(lab):
    trace = run_ok(lab, {"experiment": "signal.sigint", "params": {"handler": False}})
    assert process(trace, "program")["exit"] == {"signal": "SIGINT", "core_dumped": False}
    assert holds(trace) == [False, False]


def test_sigint_handler_exits_255_or_returns(lab):
    trace = run_ok(lab, {"experiment": "signal.sigint"})
    assert process(trace, "program")["exit"] == {"code": 255}
    assert calls(trace, "sigaction", "program")[0]["args"]["exit"] == 255
    assert holds(trace) == [True, True]
    back = run_ok(lab, {"experiment": "signal.sigint", "params": {"handler_returns": True}})
    assert process(back, "program")["exit"] == {"code": 0}
    assert calls(back, "nanosleep", "program")[0]["errno"] == "EINTR"
    assert "exit" not in calls(back, "sigaction", "program")[0]["args"]
    assert holds(back) == [True, True]


def test_sigchld_zombie_states(lab):
    trace = run_ok(lab, {"experiment": "signal.sigchld", "params": {"exit_code": 42}})
    states = [o["state"] for o in trace["objects"] if o["kind"] == "process"]
    assert states[0]["state"] == "Z" and states[1]["errno"] == "ENOENT", states
    assert deliveries(trace, "parent", "SIGCHLD")[0]["args"]["si_status"] == 42


def test_fault_handled_shows_si_codes(lab):
    trace = run_ok(lab, {"experiment": "signal.fault", "params": {"handle": True}})
    assert deliveries(trace, "segv")[0]["args"]["si_code"] == "SEGV_MAPERR"
    assert deliveries(trace, "fpe")[0]["args"]["si_code"] == "FPE_INTDIV"
    assert all(p["exit"] == {"code": 0} for p in trace["processes"])


def test_stop_cont_states(lab):
    trace = run_ok(lab, {"experiment": "signal.stop_cont", "params": {"hold_ms": 100}})
    states = [o["state"].get("state") for o in trace["objects"] if o["kind"] == "process" and o["object"] == "worker"]
    assert states[1] == "T" and states[2] != "T", states


@pytest.mark.parametrize("target", [{"pid": -1}, {"pid": 1}, {"pid": 4242}, {"process": "init"}, {"process": 1}])
def test_signals_cannot_leave_the_run(lab, target):
    step = {"op": "kill", "signal": "SIGKILL", **target}
    scenario = {"processes": [{"name": "solo", "steps": [step]}]}
    e = lab.run({"scenario": scenario}).error(400, "invalid_scenario")
    field = "pid" if "pid" in target else "process"
    assert e["path"] == f"scenario.processes[0].steps[0].{field}", e


def test_bad_signal_parameter(lab):
    e = lab.run({"experiment": "signal.coalescing", "params": {"rt_signal": "SIGUSR1"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.rt_signal"
    e = lab.run({"experiment": "signal.dispositions", "params": {"signal": "SIGBOGUS"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.signal"


@pytest.mark.parametrize("args", [
    ["signal.handshake"],
    ["signal.coalescing", "--param", "count=3", "--param", "rt_signal=SIGRTMIN+2"],
    ["signal.stop_cont", "--param", "hold_ms=5"],
])
def test_cli_runs_the_presets(args):
    cli_run_ok(str(server_binary()), args, REPO, text_shows="deliver(")


def test_permissions_uid_not_gid(lab):
    trace = run_ok(lab, {"experiment": "signal.permissions", "params": {"signal": "SIGUSR2"}})
    assert calls(trace, "kill", "other_uid")[0]["errno"] == "EPERM"
    assert calls(trace, "kill", "other_gid")[0]["result"] == 0
    got = deliveries(trace, "target", "SIGUSR2")
    assert [d["args"]["sender"] for d in got] == ["other_gid"]
    assert all(holds(trace))


def test_setresuid_requires_uid(lab):
    scenario = {"processes": [{"name": "p", "steps": [{"op": "setresuid"}]}]}
    e = lab.run({"scenario": scenario}).error(400, "invalid_scenario")
    assert e["path"] == "scenario.processes[0].steps[0].uid"
