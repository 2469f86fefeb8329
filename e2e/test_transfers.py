"""`transfers`: what went from one call to another, paired once by the server. One preset per
mechanism and kind, checked against the events the transfer joins; and the Chrome export draws a
flow for each of them (sockets, queues and signals too, not only pipes)."""
import pytest

from traces import run_ok

RUNS = "/api/v1/runs"

# (preset, kind, sender call, receiver call): each run of the preset with its defaults shows one.
CASES = [
    ("pipe.hello", "data", "write", "read"),
    ("fifo.rendezvous", "data", "write", "read"),
    ("socket.tcp", "data", "send", "read"),
    ("socket.udp", "data", "sendto", "recvfrom"),
    ("socket.unix_dgram", "data", "send", "recv"),
    ("mq.sysv", "data", "msgsnd", "msgrcv"),
    ("mq.posix", "data", "mq_send", "mq_receive"),
    ("shm.anonymous", "data", "store", "load"),
    ("signal.handshake", "signal", "kill", "deliver"),
    ("signal.sigqueue", "signal", "sigqueue", "deliver"),
    ("sem.mutex", "wake", "sem_post", "sem_wait"),
    ("socket.fd_passing", "descriptor", "sendmsg", "recvmsg"),
]


@pytest.mark.parametrize(("experiment", "kind", "sender", "receiver"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_preset_shows_its_transfer(lab, experiment, kind, sender, receiver):
    trace = run_ok(lab, {"experiment": experiment})
    by_seq = {e["seq"]: e for e in trace["events"]}
    found = [t for t in trace["transfers"] if t["kind"] == kind
             and by_seq[t["from"]]["call"] == sender and by_seq[t["to"]]["call"] == receiver]
    assert found, f"no {kind} transfer {sender} → {receiver} in {trace['transfers']}"
    for t in found:
        s, r = by_seq[t["from"]], by_seq[t["to"]]
        if kind == "data":
            # Bytes go between processes, and the receiver holds (the start of) what was sent.
            assert s["process"] != r["process"] or experiment.startswith("pipe."), t
            assert 0 < t["bytes"] <= r["result"] or (r["call"] == "load" and t["bytes"] <= r["args"]["count"]), t
            assert t["channel"] == r["args"]["channel"] == s["args"]["channel"], t
        elif kind == "signal":
            assert t["channel"] == s["args"]["signal"] == r["args"]["signal"], t
            assert r["process"] == s["args"]["process"] and r["args"]["sender"] == s["process"], t
        elif kind == "wake":
            assert r["args"]["value_before"] == 0 and s["t_ns"] >= r["t_ns"] and s["process"] != r["process"], t
        else:
            assert s["args"]["scm_rights"] and r["args"]["scm_rights"], t


def test_byte_stream_transfers_add_up(lab):
    """Writes of 10,10,10,10 read as 5,15,15,5: six (write, read) pairs share 40 bytes."""
    trace = run_ok(lab, {"experiment": "pipe.byte_stream"})
    data = [t for t in trace["transfers"] if t["kind"] == "data"]
    assert len(data) == 6 and sum(t["bytes"] for t in data) == 40


@pytest.mark.parametrize("experiment", ["socket.tcp", "mq.sysv", "signal.handshake", "sem.mutex"])
def test_chrome_draws_a_flow_per_transfer(lab, experiment):
    chrome = lab.post_json(RUNS + "?format=chrome", {"experiment": experiment})
    assert chrome.status == 200, chrome.body[:300]
    flows = [e for e in chrome.json["traceEvents"] if e["ph"] == "s"]
    assert flows, f"{experiment}: no flow arrows"
    assert len(flows) == len([e for e in chrome.json["traceEvents"] if e["ph"] == "f"])


def test_calls_table_is_published(lab):
    """GET /api/v1/calls: one table per family; every call a preset's trace shows is listed there,
    with the arguments it shows (and never an `argN`)."""
    r = lab.get("/api/v1/calls")
    assert r.status == 200, r.body[:300]
    table = r.json["calls"]
    families = {c["family"] for c in table}
    assert families == {"pipes", "fifos", "shared_memory", "semaphores", "message_queues", "signals", "sockets",
                        "process", "sandbox", "bench"}
    listed: dict[str, list[set[str]]] = {}
    for c in table:
        listed.setdefault(c["name"], []).append({a["name"] for a in c["arguments"]})
    for experiment in ("pipe.hello", "socket.fd_passing", "mq.sysv", "signal.sigqueue", "shm.sysv", "sem.mutex"):
        trace = run_ok(lab, {"experiment": experiment})
        for e in trace["events"]:
            assert e["call"] in listed, e
            assert any(set(e["args"]) <= names for names in listed[e["call"]]), e
            assert not any(k.startswith("arg") and k[3:].isdigit() for k in e["args"]), e
