"""The oracle's rules for the signal presets (see oracle.py), from a trace's events and objects alone."""

from __future__ import annotations

from typing import Any

from oracle_base import Event, Trace, end, ev, exit_of, pid_of, waited_for


def signal_sigint(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    got = [e for e in ev(t, "deliver", "program") if e["args"].get("signal") == "SIGINT"]
    want = {"code": 0 if p.get("handler_returns") else 255}
    return {"handler_ran": bool(got), "not_terminated": bool(got) and exit_of(t, "program") == want}


def signal_unblockable(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    other = p.get("signal", "SIGUSR1")
    masks = ev(t, "sigprocmask", "target")
    mask = masks[1]["args"]["oldset"] if len(masks) > 1 and masks[1]["result"] == 0 else None
    left = bool(masks) and masks[0]["result"] == 0 and mask is not None and other in mask and "SIGKILL" not in mask and "SIGSTOP" not in mask
    kills = ev(t, "kill", "parent")
    stop = next((k for k in kills if k["args"].get("signal") == "SIGSTOP"), None)
    kill = next((k for k in kills if k["args"].get("signal") == "SIGKILL"), None)
    note = any(d["args"].get("si_code") == "CLD_STOPPED" for d in ev(t, "deliver", "parent"))
    state = next((o for o in t["objects"] if o["kind"] == "process" and o["object"] == "target" and stop and (o["seq"] or 0) > stop["seq"]), None)
    stopped = bool(stop and stop["result"] == 0 and note and state and state["state"].get("state") == "T")
    killed = bool(kill and kill["result"] == 0 and exit_of(t, "target") == {"signal": "SIGKILL", "core_dumped": False})
    return {"mask_leaves_them_out": left, "sigstop_stops": stopped, "sigkill_kills": killed}


def signal_process_group(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sig = p.get("signal", "SIGINT")
    moves = ev(t, "setpgid", "shell")
    kill = next(iter(ev(t, "kill", "shell")), None)
    shell = next(q["pid"] for q in t["processes"] if q["name"] == "shell")

    def got(name: str) -> bool:
        return any(d["args"].get("signal") == sig and d["args"].get("si_pid") == shell and kill and d["t_ns"] > kill["t_ns"]
                   for d in ev(t, "deliver", name))
    members = len(moves) == 2 and all(m["result"] == 0 for m in moves) and bool(kill) and kill["result"] == 0 \
        and got("leader") and got("member")
    stray = any(d["args"].get("signal") == sig for n in ("outsider", "shell") for d in ev(t, "deliver", n))
    wait = next(iter(ev(t, "ppoll", "outsider")), None)
    handler = next(iter(ev(t, "sigaction", "outsider")), None)
    watched = bool(kill and wait and handler) and (handler["end_ns"] or handler["t_ns"]) < kill["t_ns"] and end(wait) > end(kill) \
        and wait["end_ns"] is not None
    return {"members_receive": members, "others_do_not": members and not stray and watched}


def signal_blocked(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sig = p.get("signal", "SIGUSR1")
    kill = next(iter(ev(t, "kill", "sender")), None)
    pending = next(iter(ev(t, "sigpending", "receiver")), None)
    unblock = next((e for e in ev(t, "sigprocmask", "receiver") if e["args"].get("how") == "SIG_UNBLOCK"), None)
    got = next((d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == sig), None)
    listed = bool(pending) and sig in (pending["args"].get("set") or [])
    not_yet = got is None or (pending is not None and got["t_ns"] > pending["t_ns"])
    on_unblock = bool(got and unblock and unblock["t_ns"] <= got["t_ns"] <= end(unblock))
    return {"stays_pending": bool(kill and kill["result"] == 0 and listed and not_yet), "delivered_on_unblock": on_unblock}


def signal_fault(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    def one(proc: str, sig: str, code: str) -> bool:
        fault = next(iter(ev(t, "fault", proc)), None)
        got = next((d for d in ev(t, "deliver", proc) if d["args"].get("signal") == sig), None)
        if got:
            return got["args"].get("si_code") == code and bool(fault) and fault["returned"]
        exit = exit_of(t, proc) or {}
        return exit.get("signal") == sig and bool(fault) and not fault["returned"]
    return {"sigsegv": one("segv", "SIGSEGV", "SEGV_MAPERR"), "sigfpe": one("fpe", "SIGFPE", "FPE_INTDIV")}


def signal_coalescing(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    std, rt = p.get("signal", "SIGUSR1"), p.get("rt_signal", "SIGRTMIN")
    kills = [k for k in ev(t, "kill", "sender") if k["result"] == 0 and k["args"].get("signal") == std]
    queued = [q for q in ev(t, "sigqueue", "sender") if q["result"] == 0]
    std_got = [d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == std]
    rt_got = [d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == rt]
    merged = len(kills) >= 2 and len(std_got) == 1 and all(end(k) <= std_got[0]["t_ns"] for k in kills)
    sent = [q["args"]["value"].get("sival_int") for q in queued if isinstance(q["args"].get("value"), dict)]
    got = [(d["args"].get("si_value") or {}).get("sival_int") for d in rt_got]
    return {"standard_merged": merged, "realtime_queued": bool(queued) and len(rt_got) == len(queued) and got == sent}


def signal_handshake(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sig, ack = p.get("signal", "SIGUSR1"), p.get("ack_signal", "SIGUSR2")
    sent = next(iter(ev(t, "kill", "a")), None)
    got = next((d for d in ev(t, "deliver", "b") if d["args"].get("signal") == sig and d["args"].get("si_pid") == pid_of(t, "a")), None)
    answer = next((k for k in ev(t, "kill", "b") if k["args"].get("from_handler") is True), None)
    acked = next((d for d in ev(t, "deliver", "a") if d["args"].get("signal") == ack and d["args"].get("si_pid") == pid_of(t, "b")), None)
    return {"b_received": bool(sent and sent["result"] == 0 and got),
            "a_acknowledged": bool(answer and answer["result"] == 0 and acked and got and acked["t_ns"] >= got["t_ns"])}


def signal_sigchld(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    child = pid_of(t, "child")
    got = next((d for d in ev(t, "deliver", "parent") if d["args"].get("signal") == "SIGCHLD"), None)
    notified = bool(got) and got["args"].get("si_code") == "CLD_EXITED" and got["args"].get("si_pid") == child \
        and got["args"].get("si_status") == p.get("exit_code", 7)
    states = [o for o in t["objects"] if o["kind"] == "process" and o["object"] == "child"]
    wait = next(iter(ev(t, "wait4", "parent")), None)
    zombie = len(states) >= 2 and states[0]["state"].get("state") == "Z" and bool(wait) and wait["result"] == child \
        and states[1]["state"].get("errno") == "ENOENT"
    return {"parent_notified": notified, "zombie_until_waited": zombie}


def signal_stop_cont(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    stop_sig = p.get("stop_signal", "SIGSTOP")
    kills = ev(t, "kill", "parent")
    stop = next((k for k in kills if k["args"].get("signal") == stop_sig), None)
    cont = next((k for k in kills if k["args"].get("signal") == "SIGCONT"), None)
    codes = [d["args"].get("si_code") for d in ev(t, "deliver", "parent") if d["args"].get("signal") == "SIGCHLD"]
    states = [o for o in t["objects"] if o["kind"] == "process" and o["object"] == "worker"]
    after_stop = next((o for o in states if stop and (o["seq"] or 0) > stop["seq"]), None)
    after_cont = [o for o in states if cont and (o["seq"] or 0) > cont["seq"]]
    stopped = bool(after_stop) and after_stop["state"].get("state") == "T" and "CLD_STOPPED" in codes
    continued = stopped and "CLD_CONTINUED" in codes and bool(after_cont) and after_cont[-1]["state"].get("state") != "T" \
        and exit_of(t, "worker") == {"code": 0}
    return {"stopped": stopped, "continued": continued}


def signal_sigqueue(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    sig, value = p.get("signal", "SIGRTMIN"), p.get("value", 42)
    send = next(iter(sorted(ev(t, ("sigqueue", "kill"), "sender"), key=lambda e: e["seq"])), None)
    got = next((d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == sig), None)
    carried = bool(got) and got["args"].get("si_code") == "SI_QUEUE" and (got["args"].get("si_value") or {}).get("sival_int") == value
    uid = send["args"].get("uid") if send else None
    identified = bool(got) and got["args"].get("si_pid") == pid_of(t, "sender") and uid is not None and got["args"].get("si_uid") == uid
    return {"value_carried": carried, "sender_identified": identified}


# Default actions, from signal(7); real-time signals terminate.
CORE = {"SIGQUIT", "SIGILL", "SIGABRT", "SIGFPE", "SIGSEGV", "SIGBUS", "SIGSYS", "SIGTRAP", "SIGXCPU", "SIGXFSZ"}
STOP = {"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"}
IGN = {"SIGCHLD", "SIGURG", "SIGWINCH", "SIGCONT"}


def signal_dispositions(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    asked = p.get("disposition", "default")
    kill = next(iter(ev(t, "kill", "parent")), None)
    sig = kill["args"].get("signal") if kill else p.get("signal", "SIGTERM")
    setting = next(iter(ev(t, "sigaction", "target")), None)
    accepted = bool(setting) and setting["result"] == 0
    if sig in ("SIGKILL", "SIGSTOP"):
        set_ok = bool(setting) and setting["result"] == -1 and setting["errno"] == "EINVAL"
    else:
        set_ok = accepted
    in_force = asked if accepted else "default"
    exit = exit_of(t, "target")
    handled = [d for d in ev(t, "deliver", "target") if d["args"].get("signal") == sig]
    states = [o["state"].get("state") for o in t["objects"] if o["kind"] == "process" and o["object"] == "target"]
    stopped = "T" in states
    if in_force == "handle":
        effect = bool(handled) and exit == {"code": 0}
    elif in_force == "ignore" or sig in IGN:
        effect = not handled and exit == {"code": 0} and not stopped
    elif sig in STOP:
        effect = stopped and bool(states) and states[-1] != "T" and exit == {"code": 0}
    elif sig in CORE:
        effect = (exit or {}).get("signal") == sig
    else:
        effect = exit == {"signal": sig, "core_dumped": False}
    return {"sigaction_result": set_ok, "effect": effect}


def signal_pointer(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    text = p.get("text", "a secret").encode() + b"\0"
    send = next(iter(ev(t, "sigqueue", "sender")), None)
    value = send["args"].get("value") if send else None
    sent = value.get("sival_ptr") if isinstance(value, dict) else None
    sig = send["args"].get("signal") if send else p.get("signal")
    got = next((d for d in ev(t, "deliver", "receiver") if d["args"].get("signal") == sig), None)
    arrived = (got["args"].get("si_value") or {}).get("sival_ptr") if got else None
    arrives = sent is not None and send["result"] == 0 and arrived == sent
    read = next(iter(ev(t, "process_vm_readv", "receiver")), None)
    held = (send["payload"]["bytes"], send["payload"]["hex"]) if send and send["payload"] else (len(text), text[:64].hex())
    same = bool(read) and read["result"] == held[0] and bool(read["payload"]) and read["payload"]["hex"] == held[1]
    # Note 000's kernel side: a buffer there before fork is valid in the receiver and holds its own bytes.
    store = next((e for e in ev(t, "store", "receiver") if e["args"].get("buffer") == "static"), None)
    own = c_text(store)
    valid = bool(send) and send["args"].get("buffer") == "static" and arrives and bool(store and read) \
        and store["args"].get("address") == arrived == read["args"].get("address") and read["errno"] is None \
        and (read["result"] or 0) > 0 and own is not None and c_text(read) == own and own != c_text(send)
    return {"address_arrives": arrives, "meaningless_in_receiver": arrives and bool(read) and read["returned"] and not same,
            "valid_after_fork": valid}


def c_text(e: Event | None) -> str | None:
    if not e or not e["payload"]:
        return None
    return bytes.fromhex(e["payload"]["hex"]).split(b"\0")[0].decode("utf-8", errors="replace")


def signal_permissions(t: Trace, p: dict[str, Any]) -> dict[str, bool]:
    kill_a = next(iter(ev(t, "kill", "other_uid")), None)
    sig = kill_a["args"].get("signal") if kill_a else p.get("signal", "SIGUSR1")

    def ids(name: str) -> tuple[int | None, int | None]:
        u = next(iter(ev(t, "setresuid", name)), None)
        g = next(iter(ev(t, "setresgid", name)), None)
        return (u["args"].get("uid_now") if u and u["result"] == 0 else None,
                g["args"].get("gid_now") if g and g["result"] == 0 else None)

    def from_(name: str) -> list[Event]:
        return [d for d in ev(t, "deliver", "target") if d["args"].get("signal") == sig and d["args"].get("si_pid") == pid_of(t, name)]
    (tu, tg), (au, _), (bu, bg) = ids("target"), ids("other_uid"), ids("other_gid")
    refused = None not in (tu, au) and tu != au and au != 0 and bool(kill_a) and kill_a["result"] == -1 \
        and kill_a["errno"] == "EPERM" and not from_("other_uid")
    kill_b = next(iter(ev(t, "kill", "other_gid")), None)
    allowed = None not in (tu, tg, bu, bg) and tu == bu and bu != 0 and tg != bg and bool(kill_b) and kill_b["result"] == 0 \
        and bool(from_("other_gid"))
    return {"different_uid_refused": refused, "different_gid_delivered": allowed}
