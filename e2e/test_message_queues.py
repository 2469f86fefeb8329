"""Issue 5, message queues: every mq.* preset through HTTP (every response checked against
openapi.yaml) and the CLI, with defaults and changed parameters."""

from __future__ import annotations

import pytest

from harness import server_binary
from contract import REPO
from traces import calls, process, run_ok, holds, check_claim_holds, check_catalog_entry, cli_run_ok, \
    check_preset_as_custom_scenario
from harness import preset_ids

PRESETS = preset_ids("mq")


def texts(events):
    return [bytes.fromhex(e["payload"]["hex"]).decode() if e["payload"] else None for e in events]


def depths(trace, channel="q"):
    return {o["seq"]: o["state"] for o in trace["objects"] if o["kind"] == "message_queue" and o["object"] == channel}


@pytest.mark.parametrize("exp_id", PRESETS)
def test_defaults_show_the_claim(lab, catalog, exp_id):
    trace = run_ok(lab, {"experiment": exp_id})
    check_claim_holds(trace, catalog[exp_id]["observations"])
    for p in trace["processes"]:
        assert p["exit"] == {"code": 0}, p


@pytest.mark.parametrize("exp_id", PRESETS)
def test_catalog_entry_and_scenario(lab, catalog, exp_id):
    scenario = check_catalog_entry(lab, catalog, exp_id, "mq")
    assert scenario["channels"][0]["kind"] == "message_queue"


@pytest.mark.parametrize("exp_id", PRESETS)
def test_preset_scenario_runs_as_a_custom_scenario(lab, exp_id):
    check_preset_as_custom_scenario(lab, exp_id)


def test_sysv_session_and_queue_depth(lab):
    trace = run_ok(lab, {"experiment": "mq.sysv"})
    sends, receives = calls(trace, "msgsnd", "sender"), calls(trace, "msgrcv", "receiver")
    assert texts(sends) == texts(receives) == ["this", "is", "apple", "end"]
    assert all(e["args"]["mtype"] == 5 for e in sends + receives)
    assert calls(trace, "msgctl", "receiver")[0]["args"]["cmd"] == "IPC_RMID"
    state = depths(trace)
    for e in sends + receives:
        assert e["seq"] in state, f"no IPC_STAT after {e['call']} seq {e['seq']}"
        if state[e["seq"]].get("exists") == 0:  # the receiver had removed the queue already
            assert state[e["seq"]]["errno"] in ("EIDRM", "EINVAL")
            continue
        assert set(state[e["seq"]]) >= {"msg_qnum", "msg_qbytes"}
        assert state[e["seq"]]["msg_qbytes"] == 16384


def test_sysv_negative_msgtyp_takes_lowest_types(lab):
    params = {"messages": "c a b end", "types": [3, 1, 2, 4], "msgtyp": -4, "receiver_delay_ms": 50}
    trace = run_ok(lab, {"experiment": "mq.sysv", "params": params})
    assert texts(calls(trace, "msgrcv", "receiver")) == ["a", "b", "c", "end"]
    assert all(holds(trace).values()), trace["observations"]


def test_sysv_wrong_msgtyp_waits_and_says_so(lab):
    trace = run_ok(lab, {"experiment": "mq.sysv", "params": {"msgtyp": 7}, "limits": {"wall_ms": 3000}})
    # Nobody is left to send a message of type 7: the run ends at once as a deadlock.
    assert trace["run"]["outcome"] == "deadlock", trace["run"]
    assert "receiver reads" in trace["run"]["reason"], trace["run"]["reason"]
    assert calls(trace, "msgrcv", "receiver")[-1]["returned"] is False
    assert holds(trace)["session"] is False
    assert "still waiting" in trace["observations"][-1]["detail"]


def test_posix_priorities_and_mq_curmsgs(lab):
    trace = run_ok(lab, {"experiment": "mq.posix", "params": {"messages": "x y z", "priorities": [1, 3, 2]}})
    receives = calls(trace, "mq_receive", "receiver")
    assert texts(receives) == ["y", "z", "x"]
    assert [e["args"]["msg_prio"] for e in receives] == [3, 2, 1]
    state = depths(trace)
    assert [state[e["seq"]]["mq_curmsgs"] for e in calls(trace, "mq_send", "sender")] == [1, 2, 3]
    assert [state[e["seq"]]["mq_curmsgs"] for e in receives] == [2, 1, 0]


def test_full_raises_msg_max_in_the_run_only(lab):
    with open("/proc/sys/fs/mqueue/msg_max") as f:
        host_before = f.read()
    trace = run_ok(lab, {"experiment": "mq.full", "params": {"max_messages": 25, "reader_delay_ms": 50}})
    sysctl = calls(trace, "sysctl", "receiver")[0]["args"]
    assert (sysctl["old"], sysctl["new"], sysctl["now"]) == (10, 25, 25)
    assert all(holds(trace).values()), trace["observations"]
    with open("/proc/sys/fs/mqueue/msg_max") as f:
        assert f.read() == host_before


def test_full_without_raise_is_einval(lab):
    trace = run_ok(lab, {"experiment": "mq.full", "params": {"max_messages": 11, "raise_msg_max": False}})
    assert calls(trace, "mq_open")[0]["errno"] == "EINVAL"
    assert not any(holds(trace).values())


def test_full_nonblocking_eagain(lab):
    trace = run_ok(lab, {"experiment": "mq.full", "params": {"nonblocking": True, "max_messages": 3}})
    assert [e["errno"] for e in calls(trace, "mq_send", "sender")] == [None, None, None, "EAGAIN"]
    assert all(holds(trace).values())


def test_boundaries_e2big_and_msg_noerror(lab):
    trace = run_ok(lab, {"experiment": "mq.boundaries"})
    assert [(e["result"], e["errno"]) for e in calls(trace, "msgrcv", "reader")] == [(-1, "E2BIG")] + [(10, None)] * 4
    cut = run_ok(lab, {"experiment": "mq.boundaries", "params": {"truncate": True}})
    assert calls(cut, "msgrcv", "reader")[0]["result"] == 5
    assert holds(cut) == {"boundaries_kept": False, "whole_or_nothing": False}


def test_notify_signal_and_prefilled_queue(lab):
    trace = run_ok(lab, {"experiment": "mq.notify", "params": {"signal": "SIGUSR2"}})
    delivery = calls(trace, "deliver", "receiver")[0]["args"]
    assert delivery["signal"] == "SIGUSR2" and delivery["si_code"] == "SI_MESGQ"
    assert delivery["si_pid"] == process(trace, "sender")["pid"]
    quiet = run_ok(lab, {"experiment": "mq.notify", "params": {"prefill": 2}})
    assert calls(quiet, "deliver") == []
    assert not any(holds(quiet).values())


def test_bad_parameters_and_scenarios_name_the_field(lab):
    e = lab.run({"experiment": "mq.sysv", "params": {"messages": "no stop word"}}).error(400, "invalid_parameter")
    assert e["path"] == "params.messages"
    e = lab.run({"experiment": "mq.full", "params": {"max_messages": 1000, "message_size": 8192}}).error(400, "invalid_parameter")
    assert e["path"] == "params.max_messages"
    scenario = {"channels": [{"name": "q", "kind": "message_queue", "api": "posix"}],
                "processes": [{"name": "a", "steps": [{"op": "send", "channel": "q", "data": "x", "type": 2}]}]}
    e = lab.run({"scenario": scenario}).error(400, "invalid_scenario")
    assert e["path"] == "scenario.processes[0].steps[0].type"


@pytest.mark.parametrize("args", [
    ["mq.sysv"],
    ["mq.sysv", "--param", "msgtyp=0", "--param", "types=[1,2,3,4]"],
    ["mq.posix", "--param", "priorities=[9]"],
    ["mq.full", "--param", "max_messages=40", "--param", "nonblocking=true"],
    ["mq.boundaries", "--param", "read_sizes=[1,20,20,20,20]"],
    ["mq.notify", "--param", "sender_delay_ms=5"],
])
def test_cli_runs_the_presets(args):
    expected_false = {"mq.posix": {"highest_priority_first"}}.get(args[0], set()) if len(args) > 1 else set()
    cli_run_ok(str(server_binary()), args, REPO, expected_false=frozenset(expected_false))
