"""What the page should draw for a trace, computed here independently of the page's JavaScript."""

from __future__ import annotations

from typing import Any

SEND = {"write", "writev", "pwrite", "send", "sendto", "sendmsg", "msgsnd", "mq_send", "mq_timedsend"}
RECV = {"read", "readv", "pread", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive", "mq_timedreceive"}


def _moved(ev: dict[str, Any]) -> int:
    if ev.get("returned") is False or ev.get("errno"):
        return 0
    r = ev.get("result")
    return r if isinstance(r, int) and r > 0 else 0


def _modes(trace: dict[str, Any]) -> dict[str, str]:
    """channel -> "stream" (pipe, FIFO), "duplex" (stream socket: a stream per direction) or "message"
    (message queue, datagram socket: one send to one receive). The socket type of a socket() or
    socketpair() call overrides the channel's kind."""
    modes: dict[str, str] = {}
    for c in (trace.get("scenario") or {}).get("channels") or []:
        kind = (c.get("kind") or "").lower()
        if any(k in kind for k in ("queue", "mq", "msg", "dgram", "udp", "seqpacket")):
            modes[c["name"]] = "message"
        elif any(k in kind for k in ("sock", "tcp", "unix", "stream", "pair")):
            modes[c["name"]] = "duplex"
        else:
            modes[c["name"]] = "stream"
    for ev in trace["events"]:
        a = ev.get("args") or {}
        if ev["call"] in ("socket", "socketpair") and a.get("channel") and isinstance(a.get("type"), str):
            modes[a["channel"]] = "message" if ("DGRAM" in a["type"] or "SEQPACKET" in a["type"]) else "duplex"
    return modes


def _stream(writes: list[tuple[int, int]], reads: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """The k-th byte written is the k-th byte read."""
    out = []
    w_ranges, pos = [], 0
    for seq, n in sorted(writes):
        w_ranges.append((seq, pos, pos + n))
        pos += n
    pos = 0
    for rseq, n in sorted(reads):
        r0, r1 = pos, pos + n
        pos = r1
        for wseq, w0, w1 in w_ranges:
            if min(r1, w1) > max(r0, w0):
                out.append((wseq, rseq, min(r1, w1) - max(r0, w0)))
    return out


def _messages(sends: list[dict[str, Any]], recvs: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """Each receive takes one whole message: an unused send with the same payload (or, truncated,
    one it is the start of) and the same message type; the highest priority, then the oldest."""
    def hx(e: dict[str, Any]) -> str | None:
        p = e.get("payload") or {}
        return p.get("hex") if isinstance(p.get("hex"), str) and not p.get("truncated") else None

    def prio(e: dict[str, Any]) -> int:
        v = (e.get("args") or {}).get("msg_prio")
        return v if isinstance(v, int) else 0

    def mtype(e: dict[str, Any]) -> Any:
        return (e.get("args") or {}).get("mtype")

    unused = sorted(sends, key=lambda e: e["seq"])
    out = []
    for r in sorted(recvs, key=lambda e: e["seq"]):
        cands = [s for s in unused if mtype(s) is None or mtype(r) is None or mtype(s) == mtype(r)]
        if hx(r) is not None:
            same = [s for s in cands if hx(s) == hx(r)]
            cands = same or [s for s in cands if hx(s) is not None and hx(s).startswith(hx(r))
                             and _moved(s) > _moved(r)]
        if not cands:
            continue
        best = sorted(cands, key=lambda s: (-prio(s), s["seq"]))[0]
        unused.remove(best)
        out.append((best["seq"], r["seq"], _moved(r)))
    return out


def _moved_any(ev: dict[str, Any]) -> int:
    """Bytes a call moved; a message send that returns 0 moved its payload."""
    n = _moved(ev)
    if n == 0 and ev["call"] in ("msgsnd", "mq_send", "mq_timedsend") and ev.get("result") == 0 \
            and not ev.get("errno") and ev.get("returned") is not False:
        return (ev.get("payload") or {}).get("bytes") or 0
    return n


def transfers(trace: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(send seq, receive seq, bytes) for every pair where a receive got bytes of a send.
    Pipes and FIFOs: per channel, byte offsets. Stream sockets: byte offsets per direction (one
    process's sends, read by another; a reader with two possible peers gets no guess). Message
    queues and datagram sockets: one send to one receive."""
    modes = _modes(trace)
    by_channel: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for ev in trace["events"]:
        ch = (ev.get("args") or {}).get("channel")
        kind = "send" if ev["call"] in SEND else "recv" if ev["call"] in RECV else None
        if ch and kind and _moved_any(ev):
            by_channel.setdefault(ch, {"send": [], "recv": []})[kind].append(ev)
    out: list[tuple[int, int, int]] = []
    for ch, lists in by_channel.items():
        mode = modes.get(ch, "stream")
        if mode == "message":
            out += _messages(lists["send"], lists["recv"])
        elif mode == "duplex":
            senders = {e["process"] for e in lists["send"]}
            for who in senders:
                writes = [(e["seq"], _moved_any(e)) for e in lists["send"] if e["process"] == who]
                reads = [(e["seq"], _moved(e)) for e in lists["recv"]
                         if e["process"] != who and senders - {e["process"]} == {who}]
                out += _stream(writes, reads)
        else:
            out += _stream([(e["seq"], _moved_any(e)) for e in lists["send"]],
                           [(e["seq"], _moved(e)) for e in lists["recv"]])
    return sorted(out, key=lambda t: (t[1], t[0]))


def unattributable_channels(trace: dict[str, Any]) -> set[str]:
    """Channels with a send whose result was never recorded: its process was killed between the
    kernel finishing the call and the recording (`returned: false`), so the bytes a receive got
    there may come from a send the trace cannot name, and no arrow can honestly be drawn for them."""
    return {(e.get("args") or {}).get("channel") for e in trace["events"]
            if e["call"] in SEND and not e["returned"] and (e.get("args") or {}).get("channel")}


def received(trace: dict[str, Any]) -> int:
    """Bytes every receive got, on channels whose sends all have their results."""
    skip = unattributable_channels(trace)
    return sum(_moved(e) for e in trace["events"]
               if e["call"] in RECV and (ch := (e.get("args") or {}).get("channel")) and ch not in skip)


KERNEL_CODES = {"SI_USER", "SI_QUEUE", "SI_TKILL"}
SIGNAL_SENDS = {"kill", "sigqueue", "tgkill", "tkill", "rt_sigqueueinfo", "raise"}


def signals(trace: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(send seq, delivery seq, signal) for every delivery a process sent (SI_USER, SI_QUEUE,
    SI_TKILL): the oldest earlier successful kill/sigqueue from its sender to it, same signal (and
    value, for sigqueue). A standard signal is pending at most once: the other sends merged into
    it before the delivery pair with nothing. SIGCHLD, faults and mq_notify have no sender call."""
    events = sorted(trace["events"], key=lambda e: e["seq"])
    pid = {p["name"]: p["pid"] for p in trace["processes"]}
    used: set[int] = set()
    out = []
    for d in events:
        a = d.get("args") or {}
        if d["call"] != "deliver" or a.get("si_code") not in KERNEL_CODES:
            continue
        cands = []
        for s in events:
            sa = s.get("args") or {}
            if s["call"] not in SIGNAL_SENDS or s["seq"] in used or s["seq"] >= d["seq"]:
                continue
            if s.get("errno") or s.get("returned") is False or (isinstance(s.get("result"), int) and s["result"] != 0):
                continue
            if (s["process"] != a["sender"]) if a.get("sender") else (s.get("pid") != a.get("si_pid")):
                continue
            if sa.get("process") is not None:
                if sa["process"] != d["process"]:
                    continue
            elif sa.get("pid") != pid.get(d["process"]) and s["call"] != "raise":
                continue
            if sa.get("signal") != a.get("signal"):
                continue
            queued = s["call"] in ("sigqueue", "rt_sigqueueinfo")
            if (a["si_code"] == "SI_QUEUE") != queued:
                continue
            if queued and isinstance(sa.get("value"), dict) and isinstance(a.get("si_value"), dict):
                v, got = sa["value"], a["si_value"]
                if "sival_int" in v and got.get("sival_int") != v["sival_int"]:
                    continue
                if "sival_int" not in v and "sival_ptr" in v and got.get("sival_ptr") != v["sival_ptr"]:
                    continue
            cands.append(s)
        if not cands:
            continue
        used.add(cands[0]["seq"])
        signo = a.get("si_signo")
        realtime = signo >= 32 if isinstance(signo, int) else str(a.get("signal", "")).startswith("SIGRT")
        if not realtime:
            used.update(c["seq"] for c in cands)
        out.append((cands[0]["seq"], d["seq"], a["signal"]))
    return out


def releases(trace: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(post seq, wait seq, channel) for every sem_wait that found the value 0 and was woken: the
    latest successful sem_post on the same semaphore by another process that started while the
    wait was in the kernel; each post wakes at most one wait (waits taken in the order they returned)."""
    def ok(e: dict[str, Any]) -> bool:
        return e.get("returned") is not False and not e.get("errno") and e.get("result") in (0, None)

    def chan(e: dict[str, Any]) -> Any:
        a = e.get("args") or {}
        return a.get("channel", a.get("sem"))

    events = sorted(trace["events"], key=lambda e: e["seq"])
    waits = [w for w in events if w["call"] == "sem_wait" and ok(w) and (w.get("args") or {}).get("value_before") == 0]
    waits.sort(key=lambda w: (w.get("end_ns") if w.get("end_ns") is not None else w["t_ns"], w["seq"]))
    used: set[int] = set()
    out = []
    for w in waits:
        end = w.get("end_ns") if w.get("end_ns") is not None else w["t_ns"]
        posts = [p for p in events if p["call"] == "sem_post" and ok(p) and p["seq"] not in used
                 and p["process"] != w["process"] and chan(p) == chan(w) and w["t_ns"] <= p["t_ns"] <= end]
        if not posts:
            continue
        latest = max(posts, key=lambda p: p["t_ns"])
        used.add(latest["seq"])
        out.append((latest["seq"], w["seq"], chan(w)))
    return out


WAIT_NS = 1_000_000


EXIT_CALLS = {"exit", "_exit", "exit_group", "_Exit"}


def _stuck(e: dict[str, Any]) -> bool:
    """Still in the kernel when the process died or the run ended. exit never returns by design:
    that is not waiting."""
    return e.get("returned") is False and e["call"] not in EXIT_CALLS


def spans(trace: dict[str, Any]) -> list[int]:
    """Calls with a measured span: blocked_ns > 0, or never returned (exit excepted)."""
    return [e["seq"] for e in trace["events"]
            if _stuck(e) or (isinstance(e.get("blocked_ns"), int) and e["blocked_ns"] > 0)]


def waited(trace: dict[str, Any]) -> list[int]:
    """The spans drawn hatched: never returned, lasted 1 ms or more, or another process started a call
    meanwhile (a 2 µs write reports blocked_ns too, but did not wait for anyone)."""
    events = trace["events"]
    run_end = max([trace["run"].get("duration_ns") or 0] +
                  [max(e["t_ns"], e.get("end_ns") or 0) for e in events])
    out = []
    for seq in spans(trace):
        ev = next(e for e in events if e["seq"] == seq)
        end = run_end if _stuck(ev) else (ev.get("end_ns") or ev["t_ns"])
        if (_stuck(ev) or end - ev["t_ns"] >= WAIT_NS or
                any(o["process"] != ev["process"] and ev["t_ns"] < o["t_ns"] < end for o in events)):
            out.append(seq)
    return out
