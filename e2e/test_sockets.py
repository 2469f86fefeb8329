"""Issue 5, sockets: every socket.* preset through HTTP (every response checked against
openapi.yaml) and the CLI, with defaults and changed parameters; each run has its own network
namespace, so it reaches nothing on the host and two runs on one port never meet."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess

import pytest

from harness import server_binary
from contract import REPO
from traces import calls, check_trace, run_ok, holds, cli_run_ok, check_claim_holds, check_catalog_entry, \
    check_preset_as_custom_scenario
from harness import preset_ids

PRESETS = preset_ids("socket")


def text(e):
    return bytes.fromhex(e["payload"]["hex"]).decode() if e["payload"] else None


def results(trace, call, process_name):
    return [e["result"] for e in calls(trace, call, process_name)]


@pytest.mark.parametrize("exp_id", PRESETS)
def test_defaults_show_the_claim(lab, catalog, exp_id):
    trace = run_ok(lab, {"experiment": exp_id})
    check_claim_holds(trace, catalog[exp_id]["observations"])
    assert "net" in trace["run"]["sandbox"]["namespaces"]
    for p in trace["processes"]:
        assert p["exit"] == {"code": 0}, p


@pytest.mark.parametrize("exp_id", PRESETS)
def test_catalog_entry_and_scenario(lab, catalog, exp_id):
    check_catalog_entry(lab, catalog, exp_id, "socket")


@pytest.mark.parametrize("exp_id", PRESETS)
def test_preset_scenario_runs_as_a_custom_scenario(lab, exp_id):
    check_preset_as_custom_scenario(lab, exp_id)


def test_tcp_is_the_seed(lab):
    trace = run_ok(lab, {"experiment": "socket.tcp"})
    server = [e["call"] for e in trace["events"] if e["process"] == "server" and e["args"].get("channel") == "server"]
    assert server == ["socket", "setsockopt", "setsockopt", "bind", "listen", "accept", "read", "send"]
    assert [e["args"]["optname"] for e in calls(trace, "setsockopt")] == ["SO_REUSEADDR", "SO_REUSEPORT"]
    assert calls(trace, "bind")[0]["args"]["addr"] == "127.0.0.1:8080"
    assert text(calls(trace, "read", "server")[0]) == "Hello from client"
    assert text(calls(trace, "read", "client")[0]) == "Hello from server"
    accept, connect = calls(trace, "accept")[0], calls(trace, "connect")[0]
    assert accept["args"]["peer"] == f"127.0.0.1:{connect['args']['local_port']}"


def test_tcp_refused_port_reports_false(lab):
    trace = run_ok(lab, {"experiment": "socket.tcp", "params": {"connect_port": 9999}, "limits": {"wall_ms": 300}})
    assert trace["run"]["outcome"] == "timeout"
    assert calls(trace, "connect")[0]["errno"] == "ECONNREFUSED"
    assert holds(trace) == {"server_setup": True, "connection": False, "exchange": False}


def test_stream_versus_datagram(lab):
    params = {"write_sizes": [6, 6, 6], "read_sizes": [4, 10, 10]}
    stream = run_ok(lab, {"experiment": "socket.unix_stream", "params": params})
    assert results(stream, "recv", "server") == [4, 10, 4]
    dgram = run_ok(lab, {"experiment": "socket.unix_dgram", "params": params})
    assert results(dgram, "recv", "server") == [4, 6, 6]
    assert holds(dgram) == {"boundaries_kept": False, "datagrams_whole": False}


def test_socketpair_seqpacket_rounds(lab):
    trace = run_ok(lab, {"experiment": "socket.socketpair", "params": {"type": "seqpacket", "rounds": 4}})
    assert calls(trace, "socketpair")[0]["args"]["type"] == "SOCK_SEQPACKET"
    assert len(calls(trace, "recv", "child")) == 4
    assert all(holds(trace).values())


def test_udp_lost_datagrams(lab):
    trace = run_ok(lab, {"experiment": "socket.udp", "params": {"send_port": 9100}, "limits": {"wall_ms": 300}})
    assert trace["run"]["outcome"] == "timeout"
    assert all(e["errno"] is None for e in calls(trace, "sendto", "client"))
    assert not any(holds(trace).values())


def test_buffer_nonblocking(lab):
    trace = run_ok(lab, {"experiment": "socket.buffer", "params": {"nonblocking": True, "sndbuf": 8192}})
    assert calls(trace, "getsockopt")[0]["args"]["optval"] == 16384
    assert calls(trace, "send", "writer")[-1]["errno"] == "EAGAIN"
    assert all(holds(trace).values())


def test_fd_passing_shows_both_descriptors(lab):
    trace = run_ok(lab, {"experiment": "socket.fd_passing", "params": {"message": "via SCM_RIGHTS"}})
    sent = calls(trace, "sendmsg", "sender")[0]["args"]["scm_rights"]
    got = calls(trace, "recvmsg", "receiver")[0]["args"]["scm_rights"]
    assert len(sent) == 1 and len(got) == 1
    read = calls(trace, "read", "receiver")[0]
    assert read["args"]["fd"] == got[0] and text(read) == "via SCM_RIGHTS"
    bare = run_ok(lab, {"experiment": "socket.fd_passing", "params": {"attach": False}})
    assert calls(bare, "recvmsg")[0]["args"]["scm_rights"] == []
    assert not any(holds(bare).values())


def test_a_run_cannot_reach_the_hosts_listener(lab):
    with socket.socket() as host:
        host.bind(("127.0.0.1", 0))
        host.listen()
        port = host.getsockname()[1]
        scenario = {"channels": [{"name": "t", "kind": "tcp", "port": port}],
                    "processes": [{"name": "probe", "steps": [{"op": "socket", "channel": "t"},
                                                              {"op": "connect", "channel": "t"}]}]}
        trace = run_ok(lab, {"scenario": scenario})
        connect = calls(trace, "connect")[0]
        assert (connect["result"], connect["errno"]) == (-1, "ECONNREFUSED"), connect
        host.setblocking(False)
        with pytest.raises(BlockingIOError):
            host.accept()


def test_two_runs_on_one_port_at_once(lab):
    with socket.socket() as host:
        host.bind(("127.0.0.1", 0))
        host.listen()
        port = host.getsockname()[1]
        body = {"experiment": "socket.tcp", "params": {"port": port}}
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            traces = list(pool.map(lambda _: run_ok(lab, body), range(3)))
    for trace in traces:
        assert trace["run"]["outcome"] == "ok", trace["run"]
        assert calls(trace, "bind")[0]["result"] == 0
        assert all(holds(trace).values()), trace["observations"]


@pytest.mark.parametrize("args", [
    ["socket.tcp"],
    ["socket.tcp", "--param", "port=9090", "--param", "reuse_address=false"],
    ["socket.unix_stream", "--param", "write_sizes=[3,3,3]", "--param", "read_sizes=[2,7]"],
    ["socket.unix_dgram", "--param", "read_sizes=[64,64,64,64]"],
    ["socket.socketpair", "--param", "type=dgram"],
    ["socket.udp", "--param", "messages=a b"],
    ["socket.buffer", "--param", "chunk_size=1000"],
    ["socket.fd_passing", "--param", "close_after_send=false"],
])
def test_cli_runs_the_presets(args):
    trace = cli_run_ok(str(server_binary()), args, REPO)
