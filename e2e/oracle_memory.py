"""The oracle's rules for the shared-memory, pipeline, sandbox and measurement presets (see oracle.py),
written from a trace's events and objects alone."""

from __future__ import annotations

from typing import Any

from oracle_base import Event, Trace, ev, exit_of, ok, pos

# What sandbox.denied_calls tries, after its control getppid (the preset's claim lists them).
DENIED = ["ptrace", "process_vm_readv", "unshare", "setns", "mount", "clone", "clone3", "bpf", "perf_event_open",
          "io_uring_setup", "keyctl", "add_key", "userfaultfd", "kexec_load", "init_module", "reboot", "swapon",
          "open_by_handle_at"]
THROUGHPUT = ["pipe", "unix_stream", "tcp", "posix_mq", "shm_ring"]
LATENCY = THROUGHPUT + ["signal", "semaphore"]


def c_string(e: Event | None) -> str | None:
    if not e or not e["payload"]:
        return None
    return bytes.fromhex(e["payload"]["hex"]).split(b"\0")[0].decode("utf-8", errors="replace")


def snapshot_at(t: Trace, obj: str, seq: int) -> dict[str, Any] | None:
    return next((o["state"] for o in t["objects"] if o["object"] == obj and o["seq"] == seq), None)


def shm_posix(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    message = p.get("message", "")
    open_ = next(iter(ev(t, "shm_open", "reader", "region")), None)
    trunc = next(iter(ev(t, "ftruncate", channel="region")), None)
    maps = ev(t, "mmap", channel="region")
    sized = snapshot_at(t, "region", trunc["seq"]) if trunc else None
    made = ok(open_) and trunc is not None and trunc["result"] == 0 and (sized or {}).get("size") == p.get("size", 4096) \
        and len(maps) == 2 and all(pos(m) for m in maps)
    unlink = next(iter(ev(t, "shm_unlink", "writer", "region")), None)
    store = next(iter(ev(t, "store", "writer", "region")), None)
    load = next(iter(ev(t, "load", "reader", "region")), None)
    unlinked = bool(unlink) and unlink["result"] == 0
    after = bool(store and unlink) and store["t_ns"] > unlink["t_ns"]
    lookups = [e for e in ev(t, "shm_open", channel="region") if e["step"] is not None]
    links = (snapshot_at(t, "region", unlink["seq"]) or {}).get("links") if unlink else None
    gone = unlinked and bool(lookups) and all(e["errno"] == "ENOENT" for e in lookups) and links == 0
    return {"created": made, "mapping_survives_unlink": unlinked and after and c_string(load) == message, "name_gone": gone}


def shm_pointers(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    target, message = p.get("target", 256), p.get("message", "")

    def attach(who: str) -> Event | None:
        maps = [e for e in t["events"] if e["process"] == who and e["args"].get("channel") == "region" and e["call"] in ("shmat", "mmap")]
        return maps[-1] if maps else None
    w, r = attach("writer"), attach("reader")
    differ = pos(w) > 0 and pos(r) > 0 and w["result"] != r["result"]
    read = next(iter(ev(t, "process_vm_readv", "reader", "region")), None)
    outside = bool(read) and read["args"].get("in_own_mapping") is False
    wrong = bool(read) and (read["errno"] is not None or c_string(read) != message)
    offset = next((e for e in reversed(ev(t, "load_int", "reader", "region")) if e["args"].get("offset") == 8), None)
    node = next(iter(ev(t, "load", "reader", "region")), None)
    return {"different_addresses": differ, "pointer_breaks": outside and wrong,
            "offset_works": bool(offset) and offset["args"].get("value") == target and c_string(node) == message}


def pipe_pipeline(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    stages = [q["name"] for q in t["scenario"]["processes"] if q["name"] != "shell"]
    dups = ev(t, "dup2")
    dups_ok = bool(dups) and all(d["result"] == d["args"].get("newfd") for d in dups)
    io = [e for e in t["events"] if e["process"] in stages and e["call"] in ("read", "write")]
    stdio = all(e["args"].get("fd") == (0 if e["call"] == "read" else 1) and e["args"].get("channel") is not None for e in io)

    def moved(es: list[Event]) -> int:
        return sum(pos(e) for e in es)
    flows = all(moved(ev(t, "read", channel=c["name"])) <= moved(ev(t, "write", channel=c["name"])) for c in t["scenario"]["channels"])
    last = moved(ev(t, "write", stages[-1], "out")) if stages else 0
    flows = flows and moved(ev(t, "read", "shell", "out")) == last and last > 0
    first = exit_of(t, stages[0]) if stages else None
    return {"dup2_stdio": dups_ok and stdio, "data_flows": flows,
            "upstream_sigpipe": first == {"signal": "SIGPIPE", "core_dumped": False}}


def sandbox_denied_calls(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    tries = [x for x in (next(iter(ev(t, c, "prober")), None) for c in DENIED) if x]
    refused = len(tries) == len(DENIED) and all(
        e["result"] == -1 and e["errno"] == ("ENOSYS" if e["call"] == "clone3" else "EPERM") for e in tries)
    control = next(iter(ev(t, "getppid", "prober")), None)
    return {"refused": refused, "process_lives": pos(control) > 0 and exit_of(t, "prober") == {"code": 0}}


def wanted(p: dict[str, Any], every: list[str]) -> list[str]:
    chosen = p.get("mechanisms") or []
    return [m for m in chosen if m in every] if chosen else every


def bench_throughput_more(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    phases = ev(t, "bench_throughput", "receiver")
    want = wanted(p, THROUGHPUT)
    got = [next((e for e in phases if e["args"].get("mechanism") == m), None) for m in want]
    total = p.get("total_bytes", 268_435_456)
    return {"moved": all(g is not None and g["args"].get("bytes") == total for g in got) and not ev(t, "bench_mismatch")}


def bench_latency_more(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    phases = ev(t, "bench_latency", "pinger")
    want = wanted(p, LATENCY)
    got = [g for g in (next((e for e in phases if e["args"].get("mechanism") == m), None) for m in want) if g]
    n = p.get("round_trips", 10_000)

    def ordered(e: Event) -> bool:
        a = e["args"]
        figures = [a.get("min_ns"), a.get("p50_ns"), a.get("p99_ns"), a.get("max_ns")]
        return None not in figures and 0 < figures[0] <= figures[1] <= figures[2] <= figures[3]
    placed = [g for g in got if (g["args"].get("cpu") if g["args"].get("cpu") is not None else -1) >= 0
              and (g["args"].get("peer_cpu") if g["args"].get("peer_cpu") is not None else -1) >= 0]
    return {"measured": len(got) == len(want) and all(g["args"].get("round_trips") == n and ordered(g) for g in got),
            "placement": bool(got) and len(placed) == len(got)}
