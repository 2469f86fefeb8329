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


def transfers(trace: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(write seq, read seq, bytes) for every pair where a read got bytes of a write, byte streams only:
    per channel the k-th byte written is the k-th byte read."""
    by_channel: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for ev in trace["events"]:
        ch = (ev.get("args") or {}).get("channel")
        kind = "send" if ev["call"] in SEND else "recv" if ev["call"] in RECV else None
        n = _moved(ev)
        if ch and kind and n:
            by_channel.setdefault(ch, {"send": [], "recv": []})[kind].append((ev["seq"], n))
    out = []
    for lists in by_channel.values():
        writes = sorted(lists["send"])
        reads = sorted(lists["recv"])
        w_ranges, pos = [], 0
        for seq, n in writes:
            w_ranges.append((seq, pos, pos + n))
            pos += n
        pos = 0
        for rseq, n in reads:
            r0, r1 = pos, pos + n
            pos = r1
            for wseq, w0, w1 in w_ranges:
                if min(r1, w1) > max(r0, w0):
                    out.append((wseq, rseq, min(r1, w1) - max(r0, w0)))
    return sorted(out, key=lambda t: (t[1], t[0]))


WAIT_NS = 1_000_000


def spans(trace: dict[str, Any]) -> list[int]:
    """Calls with a measured span: blocked_ns > 0, or never returned."""
    return [e["seq"] for e in trace["events"]
            if e.get("returned") is False or (isinstance(e.get("blocked_ns"), int) and e["blocked_ns"] > 0)]


def waited(trace: dict[str, Any]) -> list[int]:
    """The spans drawn hatched: never returned, lasted 1 ms or more, or another process started a call
    meanwhile (a 2 µs write reports blocked_ns too, but did not wait for anyone)."""
    events = trace["events"]
    run_end = max([trace["run"].get("duration_ns") or 0] +
                  [max(e["t_ns"], e.get("end_ns") or 0) for e in events])
    out = []
    for seq in spans(trace):
        ev = next(e for e in events if e["seq"] == seq)
        end = run_end if ev.get("returned") is False else (ev.get("end_ns") or ev["t_ns"])
        if (ev.get("returned") is False or end - ev["t_ns"] >= WAIT_NS or
                any(o["process"] != ev["process"] and ev["t_ns"] < o["t_ns"] < end for o in events)):
            out.append(seq)
    return out
