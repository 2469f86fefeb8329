// Why a call took its time, read from the trace: running on the CPU, asleep (a timer), or blocked on a
// kernel object in a state the trace recorded ("pipe p empty", "s1 = 0", "queue q full").

const SLEEPS = /^(nanosleep|clock_nanosleep|sleep|usleep)$/;
const RUNS = /^(spin|busy|increment|compute|loop|touch|allocate|fill_memory)$/;
const SIGNAL_WAITS = /^(pause|sigsuspend|sigwait|sigwaitinfo|sigtimedwait|wait_signals|rt_sigsuspend)$/;

/** The object snapshot of `name` recorded last at or before `seq` (trace.objects), or null. */
export function objectBefore(trace, name, seq) {
  let best = null;
  for (const o of trace.objects || []) {
    if (o.object !== name || o.seq > seq) continue;
    if (!best || o.seq > best.seq || (o.seq === best.seq && o.t_ns >= best.t_ns)) best = o;
  }
  return best;
}

function sizeText(st) {
  if (!st) return "";
  if (typeof st.bytes === "number" && typeof st.capacity === "number") return ` (${st.bytes} of ${st.capacity} B)`;
  if (typeof st.mq_curmsgs === "number" && typeof st.mq_maxmsg === "number") return ` (${st.mq_curmsgs} of ${st.mq_maxmsg})`;
  return "";
}

/**
 * {kind: "running" | "sleeping" | "blocked", cause} for a call that took time (see waitedSeqs).
 * The cause names the call's object and the state that made it wait, as far as the trace shows it.
 */
export function waitState(ev, trace) {
  const a = ev.args || {};
  const ch = a.channel;
  const kindOf = (name) => ((trace.scenario?.channels || []).find((c) => c.name === name) || {}).kind || "";
  if (SLEEPS.test(ev.call)) return { kind: "sleeping", cause: `asleep${a.ms !== undefined ? ` ${a.ms} ms` : ""} (timer)` };
  if (RUNS.test(ev.call)) return { kind: "running", cause: "running on the CPU" };
  if (SIGNAL_WAITS.test(ev.call)) {
    const sig = a.signal || (Array.isArray(a.signals) ? a.signals.join(", ") : a.signals) || a.set || "a signal";
    return { kind: "blocked", cause: `waiting for ${sig}` };
  }
  if (/^(wait4|waitpid|wait|waitid)$/.test(ev.call)) return { kind: "blocked", cause: `waiting for ${a.process ?? (a.pid > 0 ? `pid ${a.pid}` : "a child")} to end` };
  if (/^sem_(timed)?wait$|^semop$|^sem_wait_zero$/.test(ev.call)) {
    const v = typeof a.value_before === "number" ? a.value_before : objectBefore(trace, ch, ev.seq)?.state?.value;
    return { kind: "blocked", cause: v === 0 || v === undefined ? `${ch ?? "semaphore"} = 0` : `${ch} = ${v} (taken at once)` };
  }
  if (ev.call === "barrier") return { kind: "blocked", cause: `at barrier ${ch ?? ""}: waiting for the other ${(a.count ?? 2) - 1}` };
  if (ev.call === "accept") return { kind: "blocked", cause: `no connection yet on ${ch ?? "the socket"}` };
  if (ev.call === "connect") return { kind: "blocked", cause: `connecting to ${a.addr ?? ch}` };
  const st = ch ? objectBefore(trace, ch, ev.seq)?.state : null;
  const kind = kindOf(ch);
  if (/^mq_(timed)?receive$|^msgrcv$/.test(ev.call)) return { kind: "blocked", cause: `queue ${ch} empty` };
  if (/^mq_(timed)?send$|^msgsnd$/.test(ev.call)) return { kind: "blocked", cause: `queue ${ch} full${sizeText(st)}` };
  const what = /fifo/i.test(kind) ? "FIFO" : /sock|tcp|udp|unix|pair/i.test(kind) ? "socket" : "pipe";
  if (/^(read|readv|recv|recvfrom|recvmsg|read_all)$/.test(ev.call)) return { kind: "blocked", cause: `${what} ${ch ?? ""} empty`.replace("  ", " ") };
  if (/^(write|writev|send|sendto|sendmsg|fill)$/.test(ev.call)) {
    // "full" only when the recorded state says so (or the call was a fill); else it took its time
    // while others ran, which is not the same as waiting for room
    // a blocking write that never returned was waiting for room
    const full = ev.call === "fill" || ev.returned === false || (st && typeof st.bytes === "number" && typeof st.capacity === "number" && st.bytes >= st.capacity);
    return full ? { kind: "blocked", cause: `${what} ${ch ?? ""} full${sizeText(st)}`.replace("  ", " ") }
      : { kind: "running", cause: "others ran meanwhile" };
  }
  if (ev.call === "futex") return { kind: "blocked", cause: `futex wait${ch ? ` (${ch})` : ""}` };
  if (/^(open)$/.test(ev.call) && /fifo/i.test(kind)) return { kind: "blocked", cause: `FIFO ${ch}: no process at the other end yet` };
  return { kind: "blocked", cause: `inside ${ev.call}` };
}
