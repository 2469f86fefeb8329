"""Queries the oracle's rules are written with (see oracle.py): they read a trace's events and objects only."""

from __future__ import annotations

from typing import Any

INF = float("inf")
NOISE = 0.05

Trace = dict[str, Any]
Event = dict[str, Any]


def ev(trace: Trace, call: str | tuple[str, ...], process: str | None = None, channel: str | None = None) -> list[Event]:
    calls = (call,) if isinstance(call, str) else call
    return [e for e in trace["events"] if e["call"] in calls and (process is None or e["process"] == process)
            and (channel is None or e["args"].get("channel") == channel)]


def end(e: Event) -> float:
    return INF if e["end_ns"] is None else e["end_ns"]


def waited_for(call: Event, release: Event | None) -> bool:
    """Began before the release began, and returned after it began."""
    return release is not None and call["returned"] and call["t_ns"] < release["t_ns"] < end(call)


def state_before(trace: Trace, obj: str, t: int) -> dict[str, Any] | None:
    """The last snapshot of `obj` taken at or before `t`."""
    snaps = [o for o in trace["objects"] if o["object"] == obj and o["t_ns"] <= t]
    return max(snaps, key=lambda o: o["t_ns"])["state"] if snaps else None


def ok(e: Event | None) -> bool:
    """Returned a non-negative result."""
    return e is not None and e["result"] is not None and e["result"] >= 0


def pos(e: Event) -> int:
    return e["result"] if e["result"] is not None and e["result"] > 0 else 0


def clearly_above(a: float, b: float) -> bool:
    return a > b and (a - b) > NOISE * max(abs(a), abs(b))


def exit_of(trace: Trace, name: str) -> dict[str, Any] | None:
    return next((p["exit"] for p in trace["processes"] if p["name"] == name), None)


def pid_of(t: Trace, name: str) -> int | None:
    return next((q["pid"] for q in t["processes"] if q["name"] == name), None)
