"""Three autograders with correct and subtly wrong submissions, as a teaching assistant writes them:
a bounded buffer over shared memory and semaphores, a pipe whose reader must see end of file, and a
SIGUSR1 → SIGUSR2 handshake. Student scenarios use their own names; the checks bind the catalog's
observations to them through roles."""

from __future__ import annotations

from typing import Any

ITEMS = 8
SLOTS = 3


def bounded_buffer(full_initial: int = 0, consumer_mutex: bool = True, items: int | None = None) -> dict[str, Any]:
    """prod puts `items` (ITEMS) items through SLOTS slots of `buf`; cons takes them. `slots` counts free
    slots, `items` filled ones, `lock` guards the buffer. Written with loops, as a student would: 13 steps
    for any number of items."""
    items = ITEMS if items is None else items
    slot = f"{{i % {SLOTS} * 16}}"
    take: list[dict[str, Any]] = [{"op": "load", "channel": "buf", "offset": slot, "size": 16}]
    if consumer_mutex:
        take = [{"op": "sem_wait", "channel": "lock"}, *take, {"op": "sem_post", "channel": "lock"}]
    prod = [{"op": "loop", "times": items, "do": [
                {"op": "sem_wait", "channel": "slots"}, {"op": "sem_wait", "channel": "lock"},
                {"op": "store", "channel": "buf", "offset": slot, "data": "item {i + 1}\u0000"},
                {"op": "sem_post", "channel": "lock"}, {"op": "sem_post", "channel": "items"}]},
            {"op": "wait", "process": "cons"}]
    cons = [{"op": "loop", "times": items, "do": [
                {"op": "sem_wait", "channel": "items"}, *take, {"op": "sem_post", "channel": "slots"}]}]
    sem = lambda name, value: {"name": name, "kind": "semaphore", "type": "posix_unnamed", "value": value}  # noqa: E731
    return {
        "channels": [{"name": "buf", "kind": "shared_memory", "type": "anonymous", "size": SLOTS * 16},
                     sem("slots", SLOTS), sem("items", full_initial), sem("lock", 1)],
        "processes": [{"name": "prod", "steps": prod}, {"name": "cons", "steps": cons}],
    }


def count_steps(scenario: dict[str, Any]) -> int:
    """Steps as written, a loop and each step of its `do` counting one."""
    def count(steps: list[dict[str, Any]]) -> int:
        return sum(1 + (count(s["do"]) if s["op"] == "loop" else 0) for s in steps)
    return sum(count(p["steps"]) for p in scenario["processes"])


BOUNDED_BUFFER_ROLES = {"producer": "prod", "consumer": "cons", "buffer": "buf",
                        "empty": "slots", "full": "items", "mutex": "lock"}

BOUNDED_BUFFER_CHECKS: list[dict[str, Any]] = [
    {"id": "ends", "name": "Both processes finish", "kind": "outcome", "is": "ok"},
    {"id": "no_deadlock", "name": "No deadlock", "kind": "no_deadlock"},
    # An observation check's id is the catalog observation's.
    {"id": "sem.producer_consumer.all_in_order", "name": "Every item taken once, in order (catalog observation)",
     "points": 3, "kind": "observation", "roles": BOUNDED_BUFFER_ROLES, "params": {"items": ITEMS, "slots": SLOTS}},
    {"id": "received", "name": "The consumer takes item 1 … item 8", "points": 2, "kind": "received",
     "process": "cons", "channel": "buf", "data": [f"item {i + 1}" for i in range(ITEMS)],
     "hint": "Does the consumer wait until an item is there? What should the full semaphore start at?"},
    {"id": "consumer_locks", "name": "The consumer takes the mutex for each item", "points": 2, "kind": "call",
     "match": {"process": "cons", "call": "sem_wait", "channel": "lock"}, "count": {"min": ITEMS},
     "hint": "Both sides must hold the mutex while they touch the buffer."},
]


def pipe_eof(close_write_end: bool = True) -> dict[str, Any]:
    parent = [{"op": "close", "channel": "pipe", "end": "write"}] if close_write_end else []
    parent += [{"op": "read_all", "channel": "pipe", "size": 64}, {"op": "wait", "process": "child"}]
    return {
        "channels": [{"name": "pipe", "kind": "pipe"}],
        "processes": [
            {"name": "parent", "steps": parent},
            {"name": "child", "steps": [{"op": "close", "channel": "pipe", "end": "read"},
                                        {"op": "write", "channel": "pipe", "data": "some bytes, then the end"},
                                        {"op": "exit", "code": 0}]},
        ],
    }


PIPE_EOF_CHECKS: list[dict[str, Any]] = [
    {"id": "ends", "name": "The run ends by itself", "kind": "outcome", "is": "ok"},
    {"id": "no_deadlock", "name": "No deadlock", "kind": "no_deadlock",
     "hint": "A reader sees end of file only when every write end is closed, its own too."},
    {"id": "eof", "name": "The parent's read returns 0 (end of file)", "points": 2, "kind": "call",
     "match": {"process": "parent", "call": "read", "channel": "pipe", "result": 0}},
    {"id": "data", "name": "The parent reads the child's bytes", "kind": "received", "process": "parent",
     "channel": "pipe", "data": ["some bytes, then the end"]},
    # Its own id, and the catalog observation it applies.
    {"id": "eof_observation", "observation": "pipe.eof.read_returns_zero", "name": "read returns 0 once the writers are gone",
     "points": 2, "kind": "observation", "roles": {"reader": "parent", "writer": "child", "p": "pipe"}},
]


def handshake(reply: bool = True, ready: bool = True, timeout_ms: int = 300, setup_ms: int = 20) -> dict[str, Any]:
    """The child sets itself up for `setup_ms` (a student's child reads its configuration, say) before it
    installs its SIGUSR1 handler, then tells the parent it is ready through the `ready` pipe. Without
    `ready`, the parent signals the child before its handler is installed — under every schedule, since
    the setup outlasts the parent's fork-to-kill — and SIGUSR1's default action kills the child. (With
    no setup the race is lost in about one run of ten: a 20-run grade would pass one time in eight.)"""
    handler: dict[str, Any] = {"op": "sigaction", "signal": "SIGUSR1", "action": "handle", "restart": True}
    if reply:
        handler["reply"] = {"signal": "SIGUSR2", "process": "parent"}
    scenario = {
        "channels": [{"name": "ready", "kind": "pipe"}],
        "processes": [
            {"name": "parent", "steps": [
                {"op": "sigaction", "signal": "SIGUSR2", "action": "handle", "restart": True},
                {"op": "read", "channel": "ready", "size": 5},
                {"op": "kill", "process": "child", "signal": "SIGUSR1"},
                {"op": "wait_signals", "count": 1, "timeout_ms": timeout_ms},
                {"op": "wait", "process": "child"}]},
            {"name": "child", "steps": [
                *([{"op": "sleep", "ms": setup_ms}] if setup_ms else []),
                handler,
                {"op": "write", "channel": "ready", "data": "ready"},
                {"op": "wait_signals", "count": 1, "timeout_ms": timeout_ms}]},
        ],
    }
    if not ready:
        for p in scenario["processes"]:
            p["steps"] = [step for step in p["steps"] if step.get("channel") != "ready"]
    return scenario


HANDSHAKE_ROLES = {"a": "parent", "b": "child", "ready": "ready"}
HANDSHAKE_CHECKS: list[dict[str, Any]] = [
    {"id": "ends", "name": "The run ends by itself", "kind": "outcome", "is": "ok"},
    {"id": "child_exit", "name": "The child exits with 0", "kind": "exit", "process": "child", "code": 0},
    {"id": "reply_sent", "name": "The child's handler answers SIGUSR2", "points": 2, "kind": "call",
     "match": {"process": "child", "call": "kill", "result": 0}, "count": {"min": 1, "max": 1},
     "hint": "The answer is sent from inside the SIGUSR1 handler (sigaction's reply)."},
    # What the missing synchronisation makes possible, observed: the signal sent before the handler exists.
    {"id": "handler_first", "name": "The parent signals only once the child's handler is installed", "kind": "order",
     "first": {"process": "child", "call": "sigaction"}, "then": {"process": "parent", "call": "kill"},
     "hint": "Wait until the child says it is ready (the ready pipe) before you signal it."},
    {"id": "signal.handshake.b_received", "name": "The child's handler sees SIGUSR1 from the parent",
     "kind": "observation", "roles": HANDSHAKE_ROLES},
    {"id": "signal.handshake.a_acknowledged", "name": "The parent's handler sees SIGUSR2 from the child", "points": 2,
     "kind": "observation", "roles": HANDSHAKE_ROLES},
]

# name → (scenario, checks, limits, whether it is correct)
ASSIGNMENTS: dict[str, tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], bool]] = {
    "bounded_buffer.correct": (bounded_buffer(), BOUNDED_BUFFER_CHECKS, {"wall_ms": 2000}, True),
    "bounded_buffer.full_at_one": (bounded_buffer(full_initial=1), BOUNDED_BUFFER_CHECKS, {"wall_ms": 2000}, False),
    "bounded_buffer.no_consumer_mutex": (bounded_buffer(consumer_mutex=False), BOUNDED_BUFFER_CHECKS, {"wall_ms": 2000}, False),
    "pipe_eof.correct": (pipe_eof(), PIPE_EOF_CHECKS, {"wall_ms": 2000}, True),
    "pipe_eof.forgotten_close": (pipe_eof(close_write_end=False), PIPE_EOF_CHECKS, {"wall_ms": 2000}, False),
    "handshake.correct": (handshake(), HANDSHAKE_CHECKS, {"wall_ms": 2000}, True),
    "handshake.no_reply": (handshake(reply=False), HANDSHAKE_CHECKS, {"wall_ms": 2000}, False),
    "handshake.no_ready_pipe": (handshake(ready=False), HANDSHAKE_CHECKS, {"wall_ms": 2000}, False),
}
