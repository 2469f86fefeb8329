#!/usr/bin/env python3
"""Runs presets on the Swift runner (`ipclab run`) and on the C participants (participant_harness), and
compares what each process did, normalised as the golden traces are (e2e/golden.py).

    Tests/ipclab-runner/compare_participant.py [--ipclab BIN] [--harness BIN] PRESET[@param=value...]|SCENARIO.json[@limit=value...] ...

For each preset: the Swift trace's scenario is compiled here into a flat plan (ipclab_plan.h; only the
process and pipe/FIFO families, loops unsupported, FIFO paths moved into a temporary directory), the
harness runs it and prints its raw records, and those become a trace the way the server builds one
(EventArguments+Pipes.swift, +Process.swift, TraceBuilder.swift: arguments named, payloads, errno names,
processes with parent and exit). Compared: each process's events (call, step, args, result, errno,
returned, payload), each process's parent and exit, and the pipe snapshots after each event; for the
presets golden.py calls RACY, only the set of calls each process made. A preset run with its defaults is
also compared with its entry in e2e/golden/traces.json. Exit status 1 when any differs.

With --image-c (a build with `--run-image c`, once the C runner is merged) the C side is the same run in
the sandbox on the C runner, and whole traces are compared: outcome, set-up, processes, events, observations, and the
shared-memory and semaphore snapshots (families the harness does not run: IMAGE_C_KINDS, IMAGE_C_OPS).
"""
from __future__ import annotations

import argparse
import errno as errno_mod
import json
import os
import signal as signal_mod
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "e2e"))
import golden  # noqa: E402

# --- the flat plan (Sources/CIPCLab/include/ipclab_plan.h) ----------------------------------------

MAGIC, VERSION = 0x50435049, 1
CHANNEL_KIND = {"pipe": 1, "fifo": 2}
FIFO_BEFORE_FORK = 1
STEP_NONBLOCKING, STEP_DATA_SIZE = 1, 2
END = {"read": 0, "write": 1}
OPS = {
    "sleep": 0x0101, "wait": 0x0102, "exit": 0x0103, "spin": 0x0104, "allocate": 0x0105,
    "fork_children": 0x0106, "open_files": 0x0107, "write_file": 0x0108,
    "write": 0x0201, "read": 0x0202, "read_all": 0x0203, "fill": 0x0204, "close": 0x0205, "fstat": 0x0206,
    "mkfifo": 0x0207, "open": 0x0208, "set_nonblocking": 0x0209, "set_pipe_size": 0x020A,
    "get_pipe_size": 0x020B, "dup2": 0x020C, "stage": 0x020D,
}
PROGRAMS = {"random": (0, 1_048_576), "alnum": (1, 0), "take": (2, 20)}
# Families the C runner has beyond the harness's (FlatPlan+SharedMemory.swift): compared with --image-c only.
IMAGE_C_KINDS = {"shared_memory", "semaphore", "message_queue", "tcp", "udp", "unix_stream", "unix_dgram", "socketpair"}
IMAGE_C_OPS = {"attach", "detach", "store", "load", "store_int", "load_int", "store_pointer", "load_pointer",
               "increment", "barrier", "lookup", "shm_remove", "shm_unlink", "sem_wait", "sem_trywait", "sem_post",
               "sem_wait_zero", "sem_close", "sem_unlink", "sem_remove",
               "send", "receive", "mq_notify", "open_queue", "remove_queue",
               "socket", "setsockopt", "getsockopt", "bind", "listen", "accept", "connect", "wait_ready",
               "recv", "shutdown", "send_until_full", "send_fd", "recv_fd",
               # csignals: signals and sandbox probes
               "sigaction", "kill", "sigqueue", "sigprocmask", "sigpending", "wait_signals", "read_pointer", "fault",
               "proc_stat", "setpgid", "kill_group", "setresgid", "setresuid", "try_syscall",
               # measurements over every mechanism (FlatPlan+Bench.swift)
               "bench_send", "bench_receive", "bench_ping", "bench_pong"}


class Unsupported(Exception):
    pass


class Pool:
    def __init__(self) -> None:
        # The empty string first: a string of length 0 (none) at offset 0 then has its NUL there too,
        # whichever way a validator reads it.
        self.data = bytearray(b"\0")
        self.seen: dict[bytes, tuple[int, int]] = {b"": (0, 0)}

    def add(self, b: bytes) -> tuple[int, int]:
        if b not in self.seen:
            self.seen[b] = (len(self.data), len(b))
            self.data += b + b"\0"
        return self.seen[b]


def compile_plan(scenario: dict[str, Any], fifo_dir: str) -> bytes:
    pool = Pool()
    chans = scenario["channels"]
    names = [c["name"] for c in chans]
    procs = [p["name"] for p in scenario["processes"]]
    channels = b""
    for c in chans:
        if c["kind"] not in CHANNEL_KIND:
            raise Unsupported(f"channel kind {c['kind']}")
        path = b""
        flags = 0
        if c["kind"] == "fifo":
            path = (fifo_dir + "/" + os.path.basename(c.get("path", "/tmp/" + c["name"]))).encode()
            flags = 0 if c.get("before_fork") is False else FIFO_BEFORE_FORK
        name = pool.add(c["name"].encode())
        p = pool.add(path) if path else (0, 0)
        channels += struct.pack("<BBBxxxxxIIIIIIqqq", CHANNEL_KIND[c["kind"]], 0, flags, *name, *p, 0, 0, 0, 0, 0)
    steps = b""
    processes = b""
    total = 0
    for p in scenario["processes"]:
        first = total
        for s in p["steps"]:
            steps += compile_step(s, names, procs, pool)
            total += 1
        processes += struct.pack("<IIII", *pool.add(p["name"].encode()), first, total - first)
    off_channels = 64
    off_processes = off_channels + len(channels)
    off_steps = off_processes + len(processes)
    off_strings = off_steps + len(steps)
    strings = bytes(pool.data) + b"\0" * (-len(pool.data) % 8)
    length = off_strings + len(strings)
    header = struct.pack("<IHHIHHIIIIIIqIB3x8x", MAGIC, VERSION, 0, length, len(procs), len(chans), off_channels,
                         off_processes, off_steps, total, off_strings, len(pool.data), 0, 0, 0)
    return header + channels + processes + steps + strings


def check_image_c(scenario: dict[str, Any]) -> None:
    """Raises Unsupported unless every channel and op is one the C runner has (FlatPlanTests.cPresets is
    the Swift side's own list: a preset compared here and refused by FlatPlan.compile ran on Swift)."""
    for c in scenario["channels"]:
        if c["kind"] not in CHANNEL_KIND and c["kind"] not in IMAGE_C_KINDS:
            raise Unsupported(f"channel kind {c['kind']}")
    for p in scenario["processes"]:
        for s in p["steps"]:
            if s["op"] not in OPS and s["op"] not in IMAGE_C_OPS:
                raise Unsupported(f"op {s['op']}")


def compile_step(s: dict[str, Any], channels: list[str], procs: list[str], pool: Pool) -> bytes:
    op = s["op"]
    if op not in OPS:
        raise Unsupported(f"op {op}")
    flags, channel, process, end, n, text = 0, -1, -1, -1, [0, 0, 0, 0], (0, 0)
    if "channel" in s:
        channel = channels.index(s["channel"])
    if "end" in s:
        end = END[s["end"]]
    if op == "write":
        if "data" in s:
            text = pool.add(s["data"].encode())
        else:
            flags |= STEP_DATA_SIZE
            n[0] = s["size"]
        n[1] = s.get("repeat", 1)
    elif op == "read":
        n = [s["size"], s.get("repeat", 1), 0, 0]
    elif op in ("read_all", "fill"):
        n[0] = s.get("size", 4096)
    elif op == "open":
        flags |= STEP_NONBLOCKING if s.get("nonblocking") else 0
    elif op == "set_nonblocking":
        n[0] = 1 if s.get("enabled", True) else 0
    elif op == "set_pipe_size":
        n[0] = s["size"]
    elif op == "dup2":
        n[0] = s["fd"]
    elif op == "stage":
        program, default = PROGRAMS[s["program"]]
        n = [program, s.get("count", default), 0, 0]
    elif op in ("sleep", "spin"):
        n[0] = s["ms"]
    elif op == "wait":
        process = procs.index(s["process"]) if s["process"] in procs else -1
    elif op == "exit":
        n[0] = s.get("code", 0)
    elif op == "allocate":
        n[0] = s["bytes"]
    elif op == "fork_children":
        n = [s["count"], s.get("sleep_ms", 0), 0, 0]
    elif op == "open_files":
        n[0] = s["count"]
    elif op == "write_file":
        n[0] = s["bytes"]
        text = pool.add(s["name"].encode())
    return struct.pack("<HHhhhhi8xqqqqII", OPS[op], flags, channel, process, -1, end, 0, *n, *text)


# --- raw records → a trace, as the server builds it ------------------------------------------------

F_GETFL, F_SETFL, F_SETPIPE_SZ, F_GETPIPE_SZ = 3, 4, 1031, 1032


def open_flags(f: int) -> str:
    parts = [{0: "O_RDONLY", 1: "O_WRONLY"}.get(f & 3, "O_RDWR")]
    if f & os.O_NONBLOCK:
        parts.append("O_NONBLOCK")
    return "|".join(parts)


def wait_status(raw: int) -> Any:
    if os.WIFEXITED(raw):
        return {"code": os.WEXITSTATUS(raw)}
    if os.WIFSIGNALED(raw):
        return {"signal": signal_mod.Signals(os.WTERMSIG(raw)).name, "core_dumped": os.WCOREDUMP(raw)}
    return None


def describe(r: dict[str, Any], scenario: dict[str, Any]) -> dict[str, Any]:
    a = r["args"]
    chans = scenario["channels"]
    procs = scenario["processes"]
    done = r["state"] == 2

    def channel(i: int) -> Any:
        return chans[i]["name"] if 0 <= i < len(chans) else None

    def end(i: int) -> str:
        return "read" if i == 0 else "write"

    def path(i: int) -> Any:
        return chans[i].get("path", "/tmp/" + chans[i]["name"]) if 0 <= i < len(chans) else None

    def process(i: int) -> Any:
        return procs[i]["name"] if 0 <= i < len(procs) else None

    call = r["call"]
    if call == "pipe":
        return {"fds": [a[0], a[1]], "channel": channel(a[2])}
    if call == "close":
        return {"fd": a[0], "channel": channel(a[1]), "end": end(a[2])}
    if call == "fstat":
        out = {"fd": a[0], "channel": channel(a[1]), "end": end(a[2])}
        if done and r["result"] == 0:
            out.update({"st_dev": a[5], "st_ino": a[4], "type": "S_IFIFO" if a[6] & 0o170000 == 0o010000 else format(a[6], "o"),
                        "open_flags": open_flags(a[3]) if a[3] >= 0 else None})
        return out
    if call in ("read", "write"):
        return {"fd": a[0], "count": a[1], "channel": channel(a[2]), "end": call}
    if call == "fcntl":
        names = {F_GETFL: "F_GETFL", F_SETFL: "F_SETFL", F_SETPIPE_SZ: "F_SETPIPE_SZ", F_GETPIPE_SZ: "F_GETPIPE_SZ"}
        out = {"fd": a[0], "cmd": names.get(a[1], str(a[1]))}
        if a[1] == F_SETFL:
            out["arg"] = open_flags(a[2])
        if a[1] == F_SETPIPE_SZ:
            out["arg"] = a[2]
        out["channel"] = channel(a[3])
        return out
    if call == "dup2":
        return {"oldfd": a[0], "newfd": a[1], "channel": channel(a[2]), "end": end(a[3])}
    if call == "getrandom":
        return {"count": a[0], "flags": a[1]}
    if call == "mkfifo":
        return {"path": path(a[1]), "mode": format(a[0], "o").rjust(4, "0"), "channel": channel(a[1])}
    if call == "open":
        return {"path": path(a[1]), "flags": open_flags(a[0]), "channel": channel(a[1]), "end": end(a[2])}
    if call == "fork":
        return {"child": process(a[0])}
    if call == "wait4":
        return {"pid": a[0], "process": process(a[2]),
                "status": wait_status(a[1]) if done and r["result"] > 0 else None, "options": 0}
    simple = {"nanosleep": ["ms"], "exit": ["code"], "spin": ["ms"], "allocate": ["bytes", "touched"],
              "fork_children": ["count", "sleep_ms", "reaped"], "write_file": ["bytes", "written"]}
    if call in simple:
        return dict(zip(simple[call], a))
    if call == "open_files":
        return {"count": a[0], "path": "/dev/null"}
    return {"raw": a}


def trace_of(records: list[dict[str, Any]], scenario: dict[str, Any], outcome: str) -> dict[str, Any]:
    names = [p["name"] for p in scenario["processes"]]
    starts = {r["process"]: r for r in records if r["kind"] == 3 and r["process"] >= 0}
    name_of_pid = {r["pid"]: names[i] for i, r in starts.items()}
    reaps: dict[int, dict[str, Any]] = {}
    for r in records:
        if r["kind"] == 4:
            reaps.setdefault(r["args"][0], r)
    processes = []
    for i, name in enumerate(names):
        s = starts.get(i)
        pid = s["pid"] if s else None
        reap = reaps.get(pid) if pid else None
        processes.append({"name": name, "pid": pid, "parent": name_of_pid.get(s["args"][0]) if s else None,
                          "exit": wait_status(reap["args"][1]) if reap else None})
    events = []
    seq_of_index = {}
    for r in sorted((r for r in records if r["kind"] in (1, 6)), key=lambda r: (r["t_begin"], r["index"])):
        done = r["state"] == 2
        moved = r["call"] in ("read", "write") and done and (r["result"] > 0 or (r["result"] == 0 and r["payload_len"] > 0))
        seq_of_index[r["index"]] = len(events) + 1
        events.append({
            "seq": len(events) + 1, "process": names[r["process"]] if 0 <= r["process"] < len(names) else "init",
            "pid": r["pid"], "step": None if r["step"] == -1 else r["step"], "call": r["call"],
            "args": describe(r, scenario), "result": r["result"] if done else None,
            "errno": (errno_mod.errorcode.get(r["err"], str(r["err"])) if r["err"] else None) if done else None,
            "returned": done,
            "payload": {"bytes": r["payload_len"], "truncated": r["payload_len"] > 64, "hex": r["payload"]} if moved else None,
        })
    objects = [{"seq": seq_of_index.get(r["args"][3]), "object": scenario["channels"][r["args"][0]]["name"], "kind": "pipe",
                "state": {"bytes": r["args"][1], "capacity": r["args"][2]}}
               for r in records if r["kind"] == 2 and r["call"] == "pipe"]
    return {"run": {"outcome": outcome, "sandbox": {"setup": [], "namespaces": []}}, "processes": processes,
            "events": events, "objects": objects, "observations": []}


def event_positions(trace: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Each event's seq → (its process, its ordinal among that process's events)."""
    where = {}
    count: dict[str, int] = {}
    for e in trace["events"]:
        where[e["seq"]] = (e["process"], count.get(e["process"], 0))
        count[e["process"]] = count.get(e["process"], 0) + 1
    return where


def snapshots(trace: dict[str, Any]) -> dict[str, list[Any]]:
    """The pipe snapshots after each process's events: process → [(event ordinal, object, bytes, capacity)]."""
    where = event_positions(trace)
    out: dict[str, list[Any]] = {}
    for o in trace["objects"]:
        if o["kind"] == "pipe" and o["seq"] in where:
            p, i = where[o["seq"]]
            out.setdefault(p, []).append([i, o["object"], o["state"]["bytes"], o["state"]["capacity"]])
    return out


def other_snapshots(trace: dict[str, Any]) -> dict[str, list[Any]]:
    """The snapshots of other kinds (message queues, sockets) after each process's events, or at channel
    creation: process → [(event ordinal, object, kind, {state})]; pids in a state become process names."""
    names = {p["pid"]: p["name"] for p in trace["processes"] if isinstance(p.get("pid"), int)}
    where = event_positions(trace)
    out: dict[str, list[Any]] = {}
    for o in trace["objects"]:
        if o["kind"] in ("pipe", "shared_memory", "semaphore"):  # region_snapshots compares those
            continue
        p, i = where.get(o["seq"], ("?", None))
        state = {k: (names.get(v, v) if k.endswith("pid") else v) for k, v in o["state"].items()}
        out.setdefault(p, []).append([i, o["object"], o["kind"], state])
    return out


def mask_addresses(trace: dict[str, Any]) -> None:
    """Addresses golden.py leaves alone because no preset it compares exactly shows them (shm.pointers
    stores at a fixed address, which its golden trace keeps): the pointers store_pointer stores (and
    load_int then finds) and sem_open's result, in a scenario file's run (ASLR, not the port)."""
    pointers = {e["args"].get("value") for e in trace["events"] if e["call"] == "store_pointer"}
    for e in trace["events"]:
        if e["call"] in ("store_pointer", "load_int") and e["args"].get("value") in pointers:
            e["args"]["value"] = "<addr>"
        if e["call"] == "sem_open" and isinstance(e["result"], int) and e["result"] > 0:
            e["result"] = "<addr>"


def region_snapshots(trace: dict[str, Any]) -> dict[str, list[Any]]:
    """The shared-memory and semaphore snapshots after each process's events, states normalised as
    golden.py normalises arguments (pids become process names): process → [(event ordinal, object, state)]."""
    names = {p["pid"]: p["name"] for p in trace["processes"] if isinstance(p.get("pid"), int)}
    where = event_positions(trace)
    out: dict[str, list[Any]] = {}
    for o in trace["objects"]:
        if o["kind"] not in ("shared_memory", "semaphore"):
            continue
        state = {k: v for k, v in o["state"].items() if k not in ("key", "key_hex")}
        p, i = where.get(o["seq"], (None, None))
        out.setdefault(str(p), []).append([i, o["object"], golden._norm_value("", state, names)])
    return out


# --- running both ---------------------------------------------------------------------------------

def compare(spec: str, ipclab: str, harness: str, image_c: bool = False) -> tuple[list[str], list[str]]:
    preset, *params = spec.split("@")
    if preset.endswith(".json"):
        cmd = [ipclab, "run", "--scenario", preset] + [x for p in params for x in ("--limit", p)]
        preset = Path(preset).stem
    else:
        cmd = [ipclab, "run", preset] + [x for p in params for x in ("--param", p)]
    ran = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if not ran.stdout.strip():
        return [f"the Swift run failed: {ran.stderr.strip()}"], []
    swift = json.loads(ran.stdout)
    scenario = swift["scenario"]
    if image_c:
        check_image_c(scenario)  # raises Unsupported for what is not C yet
        # The merged build: the same run in the sandbox on the C runner (`--run-image c`), whole traces.
        ran = subprocess.run(cmd + ["--run-image", "c"], capture_output=True, text=True, timeout=120)
        if not ran.stdout.strip():
            return [f"the C run failed: {ran.stderr.strip()}"], []
        c_trace = json.loads(ran.stdout)
        keys: tuple[str, ...] = ("outcome", "setup", "namespaces", "processes", "events", "observations")
    else:
        compile_plan(scenario, "/tmp")  # raises Unsupported for what the harness cannot run
        with tempfile.TemporaryDirectory(prefix="ipclab-fifo-") as d:
            plan = Path(d) / "plan"
            plan.write_bytes(compile_plan(scenario, d))
            limits = swift["run"]["limits"]
            out = subprocess.run([harness, str(plan), str(limits["wall_ms"]), str(limits["cpu_ms"])],
                                 capture_output=True, text=True, timeout=120)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        if not lines or "outcome" not in lines[-1]:
            return [f"harness failed: {out.stderr.strip()}"], []
        c_trace = trace_of(lines[:-1], scenario, lines[-1]["outcome"])
        keys = ("processes", "events")
    for t in (swift, c_trace):
        for e in t["events"]:
            if e["call"] == "spin" and isinstance(e["result"], int):
                e["result"] = "<spun ns>"  # the CPU time the spin used: the clock's, not the port's
    if spec.split("@")[0].endswith(".json"):
        for t in (swift, c_trace):
            mask_addresses(t)
    want, got = golden.normalise(preset, swift), golden.normalise(preset, c_trace)
    diffs = golden.differences({k: got[k] for k in keys}, {k: want[k] for k in keys})
    # The harness has no deadlock watch (the init's, crunner's): a run that does not end is a timeout
    # there. Whether a limit was exceeded is the server's judgement of the records, not compared here.
    if not image_c and (swift["run"]["outcome"] in ("timeout", "deadlock")) != (c_trace["run"]["outcome"] == "timeout"):
        diffs.append(f".outcome: {c_trace['run']['outcome']!r} vs {swift['run']['outcome']!r}")
    # The acceptance test's own record of the preset (its defaults): e2e/golden/traces.json.
    if not params and not spec.endswith(".json"):
        kept = json.loads(golden.GOLDEN.read_text()).get(preset)
        if kept:
            diffs += golden.differences({k: got[k] for k in keys}, {k: kept[k] for k in keys}, ".golden")
    notes = []
    if preset not in golden.RACY:
        # Which events are followed by a snapshot, of which pipe, of what capacity: exact. The bytes
        # waiting: a note, since a reader in another process drains the pipe at its own pace.
        mine, theirs = snapshots(c_trace), snapshots(swift)
        strip = lambda s: {p: [[i, o, c] for i, o, _, c in v] for p, v in s.items()}  # noqa: E731
        diffs += golden.differences(strip(mine), strip(theirs), ".objects")
        notes = golden.differences(mine, theirs, ".objects") if not diffs else []
        if image_c:
            # Queue and socket snapshots: which events are followed by one, of what, with which fields, exact;
            # the numbers in them (bytes queued, last pids) as notes: the other process runs at its own pace.
            mine, theirs = other_snapshots(c_trace), other_snapshots(swift)
            shape = lambda s: {p: [[i, o, k, sorted(st)] for i, o, k, st in v] for p, v in s.items()}  # noqa: E731
            diffs += golden.differences(shape(mine), shape(theirs), ".objects")
            # The shared-memory and semaphore snapshots (OBJECT records): after which event of which
            # process, of which object, in which state (keys, made of the key file's inode, aside).
            # A semaphore's value and waiters are as scheduling has them where two processes wait and post
            # at once (shm.pointers: whether the writer posted first): a note, like the bytes in a pipe.
            timing = ("value", "waiting", "waiters")
            strip_sem = lambda s: {p: [[i, o, {k: v for k, v in st.items() if k not in timing}] for i, o, st in v]  # noqa: E731
                                   for p, v in s.items()}
            mine, theirs = region_snapshots(c_trace), region_snapshots(swift)
            diffs += golden.differences(strip_sem(mine), strip_sem(theirs), ".objects")
            notes += golden.differences(mine, theirs, ".objects") if not diffs else []
    return diffs, notes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ipclab", default=os.environ.get("IPCLAB_BIN", "/work/main/.build/debug/ipclab"))
    ap.add_argument("--harness", default=str(ROOT / ".build/participant/participant_harness"))
    ap.add_argument("--image-c", action="store_true",
                    help="compare with `ipclab run --run-image c` (the merged build) instead of the harness")
    ap.add_argument("presets", nargs="+")
    args = ap.parse_args()
    failed = 0
    for spec in args.presets:
        try:
            diffs, notes = compare(spec, args.ipclab, args.harness, args.image_c)
        except Unsupported as e:
            print(f"{spec}: not compared (the harness's compiler has no {e}: compare it with --image-c)")
            continue
        print(f"{spec}: {'same' if not diffs else 'DIFFERENT'}" + (" (calls only: racy)" if spec.split('@')[0] in golden.RACY else ""))
        for d in diffs[:20]:
            print(f"    {d}  (C vs Swift, or .golden: vs e2e/golden/traces.json)")
        for d in notes[:5]:
            print(f"    note, bytes waiting or a semaphore's value in a snapshot (timing): {d}  (C vs Swift)")
        failed |= bool(diffs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
