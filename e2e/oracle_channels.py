"""The oracle's rules for the message-queue, socket, unrelated-FIFO and pipeline presets (see oracle.py), written from a
trace's events and objects alone."""

from __future__ import annotations

from typing import Any

from oracle_base import Event, Trace, end, ev, ok, pid_of, pos, waited_for

SENDS = ("send", "sendto", "write")
RECVS = ("recv", "recvfrom", "read")


def preview(e: Event | None) -> bytes | None:
    return bytes.fromhex(e["payload"]["hex"]) if e and e["payload"] else None


def words(e: Event | None) -> str | None:
    """The text a call moved (its payload preview), or None when it moved nothing."""
    b = preview(e)
    return None if b is None else b.decode("utf-8", errors="replace")


def tag(e: Event) -> int | None:
    a = e["args"]
    return a.get("mtype") if a.get("mtype") is not None else a.get("msg_prio")


def same_message(a: Event, b: Event) -> bool:
    return bool(a["payload"] and b["payload"]) and a["payload"]["bytes"] == b["payload"]["bytes"] \
        and preview(a) == preview(b)


# ------------------------------------------------------------------ message queues


def type_violation(sends: list[Event], got: list[Event], msgtyp: int) -> bool:
    """Whether some msgrcv took a message the msgtyp rule would not pick, given which messages were surely
    or possibly queued when it ran."""
    taken: set[int] = set()
    for r in got:
        kind, stop = tag(r), r["end_ns"]
        if kind is None or stop is None:
            continue
        possible = [i for i, s in enumerate(sends) if i not in taken and s["t_ns"] <= stop]
        sure = [i for i in possible if s_end(sends[i]) <= r["t_ns"]]
        m = next((i for i in possible if same_message(sends[i], r) and tag(sends[i]) == kind), None)
        if m is None:
            return True
        taken.add(m)
        first_of_type = next((i for i in possible if tag(sends[i]) == kind), None)
        if msgtyp == 0:
            fine = m == possible[0]
        elif msgtyp > 0:
            fine = kind == msgtyp and m == first_of_type
        else:
            lows = [tag(sends[i]) for i in sure if tag(sends[i]) is not None and tag(sends[i]) <= -msgtyp]
            fine = kind <= -msgtyp and m == first_of_type and kind <= (min(lows) if lows else kind)
        if not fine:
            return True
    return False


def s_end(e: Event) -> float:
    return float("inf") if e["end_ns"] is None else e["end_ns"]


def mq_sysv(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    msgtyp = p.get("msgtyp", 5)
    gets = ev(t, "msgget", channel="q")
    ids = {g["result"] for g in gets}
    same = len(gets) >= 2 and len(ids) == 1 and next(iter(ids)) is not None and next(iter(ids)) >= 0
    sends = [s for s in ev(t, ("msgsnd", "mq_send"), channel="q") if s["result"] == 0]
    recvs = ev(t, ("msgrcv", "mq_receive"), channel="q")
    got = [r for r in recvs if ok(r)]
    left, whole = list(sends), 0
    for r in got:
        i = next((k for k, s in enumerate(left) if same_message(s, r) and tag(s) == tag(r)), None)
        if i is not None:
            left.pop(i)
            whole += 1
    if type_violation(sends, got, msgtyp):
        selected = False
    elif not got:
        selected = bool(recvs) and not recvs[-1]["returned"] and bool(sends)
    else:
        selected = True
    ended = bool(got) and (words(got[-1]) or "").startswith("end")
    removed = any(c["args"].get("cmd") == "IPC_RMID" and c["result"] == 0 for c in ev(t, "msgctl", "receiver", "q"))
    return {"same_key_same_queue": same, "whole_messages": bool(got) and whole == len(got),
            "selected_by_type": selected, "session": ended and removed}


def mq_boundaries(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sizes = [s["payload"]["bytes"] if s["payload"] else 0 for s in ev(t, ("msgsnd", "mq_send"), "writer", "q") if s["result"] == 0]
    nxt, exact, larger, refused, cut, kept, refused_size = 0, 0, 0, 0, 0, True, None
    for r in ev(t, ("msgrcv", "mq_receive"), "reader", "q"):
        if nxt >= len(sizes):
            break
        size = sizes[nxt]
        if ok(r):
            if r["result"] == size:
                exact += 1
                larger += (r["args"].get("msgsz") or 0) > size
            else:
                cut += 1
            if refused_size is not None and refused_size != size:
                kept = False
            refused_size, nxt = None, nxt + 1
        elif r["errno"] == "E2BIG":
            refused += 1
            refused_size = size
    return {"boundaries_kept": cut == 0 and exact > 0 and larger > 0,
            "whole_or_nothing": cut == 0 and refused > 0 and kept}


def mq_notify(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sig = p.get("signal", "SIGUSR1")
    notify = ev(t, "mq_notify", "receiver", "q")
    send = next(iter(ev(t, ("mq_send", "msgsnd"), "sender", "q")), None)
    got = next((d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == sig), None)
    arrival = bool(got and send) and got["args"].get("si_code") == "SI_MESGQ" and got["args"].get("si_pid") == pid_of(t, "sender") \
        and got["t_ns"] >= send["t_ns"] and bool(notify) and notify[0]["result"] == 0
    after = next((r for r in ev(t, ("mq_receive", "msgrcv"), "receiver", "q") if got and r["t_ns"] >= got["t_ns"]), None)
    return {"signal_on_arrival": arrival, "message_waiting": bool(after and send) and same_message(after, send)}


# ------------------------------------------------------------------ sockets


def on_socket(e: Event) -> bool:
    a = e["args"]
    return "sockfd" in a or (a.get("channel") is not None and "end" not in a and "path" not in a)


def socket_tcp(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    reuse = p.get("reuse_address", True)
    server = [e for e in t["events"] if e["process"] == "server" and e["args"].get("channel") == "server"]
    setup = [e for e in server if e["call"] in ("socket", "setsockopt", "bind", "listen")]
    want = ["socket", "setsockopt", "setsockopt", "bind", "listen"] if reuse else ["socket", "bind", "listen"]
    setup_ok = [e["call"] for e in setup] == want and all(ok(e) for e in setup)
    connect = (ev(t, "connect", "client") or [None])[-1]
    accept = next(iter(ev(t, "accept", "server")), None)
    listening = next((e["result"] for e in server if e["call"] == "socket"), None)
    port = connect["args"].get("local_port") if connect else None
    peer = accept["args"].get("peer") if accept else None
    connected = bool(connect and accept) and connect["result"] == 0 and ok(accept) and accept["result"] != listening \
        and port is not None and isinstance(peer, str) and peer.endswith(f":{port}")
    server_read = next((e for e in ev(t, RECVS, "server", "server")), None)
    server_send = next((e for e in ev(t, SENDS, "server", "server")), None)
    client_read = next((e for e in ev(t, RECVS, "client") if on_socket(e)), None)
    client_send = next((e for e in ev(t, SENDS, "client") if on_socket(e)), None)
    both = words(server_read) is not None and words(server_read) == words(client_send) \
        and words(client_read) is not None and words(client_read) == words(server_send)
    return {"server_setup": setup_ok, "connection": connected, "exchange": both}


def socket_udp(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sends = [e for e in ev(t, SENDS, "client") if on_socket(e) and ok(e)]
    got = [e for e in ev(t, RECVS, "server", "u") if ok(e)]
    handshake = [e for e in t["events"] if e["call"] in ("listen", "accept", "connect")]
    whole = all(words(a) == words(b) for a, b in zip(sends, got))
    sources = {e["args"].get("src_addr") for e in got if e["args"].get("src_addr") is not None}
    return {"no_connection": not handshake and bool(got) and all(s["call"] == "sendto" for s in sends),
            "datagrams": bool(got) and len(got) == len(sends) and whole and len(sources) == 1}


def socket_socketpair(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    pair = next(iter(ev(t, "socketpair", channel="sv")), None)
    sv = [x for x in (pair["args"].get("sv") or []) if isinstance(x, int)] if pair else []

    def calls(who: str, kinds: tuple[str, ...]) -> list[Event]:
        return ev(t, kinds, who, "sv")

    def fds(who: str) -> set[int]:
        out = set()
        for e in calls(who, SENDS) + calls(who, RECVS):
            fd = e["args"].get("sockfd", e["args"].get("fd"))
            if fd is not None:
                out.add(fd)
        return out
    one_each = bool(pair) and pair["result"] == 0 and len(sv) == 2 and fds("parent") == {sv[0]} and fds("child") == {sv[1]}
    rounds = p.get("rounds", 1)

    def moved(a: list[Event], b: list[Event]) -> list[bool]:
        return [words(x) is not None and words(x) == words(y) for x, y in zip(a, b)]
    down = moved(calls("parent", SENDS), calls("child", RECVS))
    up = moved(calls("child", SENDS), calls("parent", RECVS))
    return {"one_descriptor_each": one_each, "full_duplex": len(down) == rounds and len(up) == rounds and all(down + up)}


def socket_fd_passing(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sendmsg = next(iter(ev(t, "sendmsg", "sender", "sv")), None)
    recvmsg = next(iter(ev(t, "recvmsg", "receiver", "sv")), None)

    def rights(e: Event | None) -> list[int]:
        return [x for x in ((e["args"].get("scm_rights") or []) if e else []) if isinstance(x, int)]
    received = bool(sendmsg and recvmsg) and sendmsg["result"] == 1 and recvmsg["result"] == 1 \
        and len(rights(sendmsg)) == 1 and len(rights(recvmsg)) == 1
    wrote = next((e for e in ev(t, "write", "sender") if e["args"].get("path") is not None), None)
    read = next((e for e in ev(t, "read", "receiver") if e["args"].get("path") is not None or e["args"].get("channel") is None), None)
    return {"descriptor_received": received,
            "same_file": received and words(read) is not None and words(read) == words(wrote)}


def fifo_unrelated(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    """The reader makes the FIFO by a step (nobody before fork); the writer, whose parent is not the
    reader, opens that path after it exists; the two opens meet and the bytes arrive."""
    made = ev(t, "mkfifo", channel="f")
    opens = ev(t, "open", channel="f")
    r = next((e for e in opens if e["process"] == "reader"), None)
    w = next((e for e in opens if e["process"] == "writer"), None)
    parent = next((q.get("parent") for q in t["processes"] if q["name"] == "writer"), None)
    maker = (len(made) == 1 and made[0]["process"] == "reader" and made[0]["step"] is not None and made[0]["result"] == 0
             and parent not in (None, "reader") and ok(w) and w["t_ns"] > end(made[0])
             and {e["process"] for e in opens} == {"reader", "writer"})
    wrote = [e for e in ev(t, "write", "writer", "f")]
    read = [e for e in ev(t, "read", "reader", "f")]
    message = p.get("message", "").encode()
    got = b"".join(preview(e) or b"" for e in read)
    delivered = sum(map(pos, wrote)) == len(message) and sum(map(pos, read)) == len(message) \
        and (len(message) > 64 or got == message)
    met = ok(r) and ok(w) and (waited_for(r, w) or waited_for(w, r))
    return {"maker_not_an_ancestor": maker, "met_by_path": bool(met and delivered)}
