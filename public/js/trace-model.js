// What the diagram and the tables need, derived from a trace (pure functions, no DOM):
// processes in order, transfers (which write's bytes which read received), blocked intervals, ends.

import { payloadBytes, preview, stuck } from "./format.js";

export const SEND_CALLS = new Set(["write", "writev", "pwrite", "send", "sendto", "sendmsg", "msgsnd", "mq_send", "mq_timedsend"]);
export const RECV_CALLS = new Set(["read", "readv", "pread", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive", "mq_timedreceive"]);

/** Channel kinds whose transfers keep message boundaries (one send → one receive). */
const MESSAGE_KIND = /mq|msg|queue|dgram|udp|seqpacket/i;
/** Channel kinds that carry bytes both ways (a stream per direction). */
const TWO_WAY_KIND = /sock|tcp|unix|stream|pair/i;

/**
 * How a channel moves data: "stream" (one byte stream: pipe, FIFO), "duplex" (a byte stream per
 * direction: stream sockets) or "message" (queues, datagram sockets: one send → one receive).
 * The socket type in the socket()/socketpair() call wins over the channel's kind.
 */
export function channelModes(trace) {
  const modes = new Map();
  for (const c of (trace.scenario && trace.scenario.channels) || []) {
    modes.set(c.name, MESSAGE_KIND.test(c.kind || "") ? "message" : TWO_WAY_KIND.test(c.kind || "") ? "duplex" : "stream");
  }
  for (const ev of trace.events || []) {
    const a = ev.args || {};
    if (!a.channel || !/^(socket|socketpair)$/.test(ev.call) || typeof a.type !== "string") continue;
    modes.set(a.channel, /DGRAM|SEQPACKET/.test(a.type) ? "message" : "duplex");
  }
  return modes;
}

/** Bytes an event moved: what the kernel returned, else the payload size. */
function movedBytes(ev) {
  if (ev.returned === false || ev.errno) return 0;
  if (typeof ev.result === "number" && ev.result > 0) return ev.result;
  if (ev.call === "msgsnd" || ev.call === "mq_send" || ev.call === "mq_timedsend") {
    return ev.result === 0 && ev.payload ? ev.payload.bytes || 0 : 0;
  }
  return 0;
}

function slicePreview(ev, from, to) {
  const bytes = payloadBytes(ev.payload);
  if (!bytes || from >= bytes.length) return null;
  const cut = bytes.slice(from, Math.min(to, bytes.length));
  return preview(cut, 12, to > bytes.length);
}

/**
 * Pair every send with the receive(s) that got its bytes.
 * Byte streams (pipes, FIFOs): per channel, the k-th byte written is the k-th byte read, so a write
 * covering bytes [w0, w1) and a read covering [r0, r1) share their overlap.
 * Stream sockets: the same, per direction (the sends of one process, read by another process);
 * when a reader has more than one possible peer on the channel, no arrow is guessed.
 * Message channels: see matchMessages.
 */
export function matchTransfers(trace) {
  const modes = channelModes(trace);
  const byChannel = new Map();
  for (const ev of trace.events || []) {
    const ch = ev.args && ev.args.channel;
    if (!ch) continue;
    const dir = SEND_CALLS.has(ev.call) ? "send" : RECV_CALLS.has(ev.call) ? "recv" : null;
    if (!dir) continue;
    const n = movedBytes(ev);
    if (n <= 0) continue;
    if (!byChannel.has(ch)) byChannel.set(ch, { send: [], recv: [] });
    byChannel.get(ch)[dir].push({ ev, n });
  }
  const transfers = [];
  for (const [channel, { send, recv }] of byChannel) {
    send.sort((a, b) => a.ev.seq - b.ev.seq);
    recv.sort((a, b) => a.ev.seq - b.ev.seq);
    const mode = modes.get(channel) || "stream";
    if (mode === "message") matchMessages(channel, send, recv, transfers);
    else if (mode === "duplex") {
      const senders = [...new Set(send.map((x) => x.ev.process))];
      for (const from of senders) {
        const readers = recv.filter((r) => r.ev.process !== from &&
          senders.filter((p) => p !== r.ev.process).length === 1);
        matchStream(channel, send.filter((x) => x.ev.process === from), readers, transfers);
      }
    } else matchStream(channel, send, recv, transfers);
  }
  transfers.sort((a, b) => a.to.seq - b.to.seq || a.from.seq - b.from.seq);
  transfers.forEach((t, i) => (t.index = i));
  return transfers;
}

function matchStream(channel, sends, recvs, out) {
  let w = 0, wStart = 0, rOffset = 0;
  for (const r of recvs) {
    const r0 = rOffset, r1 = rOffset + r.n;
    rOffset = r1;
    while (w < sends.length) {
      const s = sends[w];
      const w0 = wStart, w1 = wStart + s.n;
      const a = Math.max(r0, w0), b = Math.min(r1, w1);
      if (b > a) {
        out.push({
          kind: "data", channel, from: s.ev, to: r.ev, bytes: b - a, offset: a,
          preview: slicePreview(s.ev, a - w0, b - w0) ?? slicePreview(r.ev, a - r0, b - r0),
        });
      }
      if (w1 <= r1) { w++; wStart = w1; } else break;
    }
  }
}

/**
 * Message channels: a receive takes one whole message. The sends it can have got are the unmatched
 * ones from another process (or any, for a process talking to itself) whose message type agrees and
 * whose payload is the received payload (or starts with it, for a truncated receive); among those
 * the highest priority, then the oldest. With no payload recorded, the oldest send.
 */
function matchMessages(channel, sends, recvs, out) {
  const open = sends.slice();
  const hex = (ev) => (ev.payload && typeof ev.payload.hex === "string" && !ev.payload.truncated ? ev.payload.hex : null);
  const prio = (ev) => (ev.args && typeof ev.args.msg_prio === "number" ? ev.args.msg_prio : 0);
  const typeOk = (s, r) => !(s.ev.args && r.ev.args && typeof s.ev.args.mtype === "number" && typeof r.ev.args.mtype === "number") ||
    s.ev.args.mtype === r.ev.args.mtype;
  for (const r of recvs) {
    if (open.length === 0) break;
    const rh = hex(r.ev);
    let cands = open.filter((s) => typeOk(s, r));
    if (rh !== null) {
      const same = cands.filter((s) => hex(s.ev) === rh);
      cands = same.length ? same : cands.filter((s) => hex(s.ev) !== null && hex(s.ev).startsWith(rh) && s.n > r.n);
    }
    if (cands.length === 0) continue;
    const best = cands.reduce((a, b) => (prio(b.ev) > prio(a.ev) || (prio(b.ev) === prio(a.ev) && b.ev.seq < a.ev.seq) ? b : a));
    open.splice(open.indexOf(best), 1);
    out.push({ kind: "data", channel, from: best.ev, to: r.ev, bytes: r.n, offset: null, preview: slicePreview(r.ev, 0, r.n) });
  }
}

const SIGNAL_SENDS = new Set(["kill", "sigqueue", "tgkill", "tkill", "rt_sigqueueinfo", "raise"]);
const USER_CODES = new Set(["SI_USER", "SI_QUEUE", "SI_TKILL"]);

/**
 * Pair each delivery a process sent (si_code SI_USER / SI_QUEUE / SI_TKILL) with the kill or
 * sigqueue that caused it: the oldest earlier successful send by the delivery's sender, to the
 * delivering process, of the same signal (and, for sigqueue, the same value). A standard signal is
 * pending at most once: sends of it merged into that pending signal get no arrow of their own.
 * Kernel-sent signals (SIGCHLD, faults, mq_notify) have no send to pair with and get none.
 */
export function matchSignals(trace) {
  const events = (trace.events || []).slice().sort((a, b) => a.seq - b.seq);
  const pidOf = new Map((trace.processes || []).map((p) => [p.name, p.pid]));
  const used = new Set();
  const out = [];
  const valueOf = (v) => (v && typeof v === "object" ? (v.sival_ptr !== undefined && v.sival_int === undefined ? ["ptr", v.sival_ptr] : ["int", v.sival_int]) : null);
  for (const d of events) {
    const a = d.args || {};
    if (d.call !== "deliver" || !USER_CODES.has(a.si_code)) continue;
    const cands = events.filter((s) => {
      const sa = s.args || {};
      if (!SIGNAL_SENDS.has(s.call) || used.has(s.seq) || s.seq >= d.seq || s.errno || s.returned === false) return false;
      if (typeof s.result === "number" && s.result !== 0) return false;
      if (a.sender ? s.process !== a.sender : s.pid !== a.si_pid) return false;
      const target = sa.process ?? null;
      if (target !== null ? target !== d.process : sa.pid !== pidOf.get(d.process) && s.call !== "raise") return false;
      if (sa.signal !== a.signal) return false;
      if (a.si_code === "SI_QUEUE") {
        if (s.call !== "sigqueue" && s.call !== "rt_sigqueueinfo") return false;
        const want = valueOf(sa.value), got = a.si_value;
        if (want && got && (want[0] === "ptr" ? got.sival_ptr !== want[1] : got.sival_int !== want[1])) return false;
      } else if (s.call === "sigqueue") return false;
      return true;
    });
    if (cands.length === 0) continue;
    const s = cands[0];
    used.add(s.seq);
    const realtime = typeof a.si_signo === "number" ? a.si_signo >= 32 : /^SIGRT/.test(a.signal || "");
    if (!realtime) for (const c of cands) used.add(c.seq);
    const merged = realtime ? 0 : cands.length - 1;
    const v = a.si_code === "SI_QUEUE" && a.si_value ? valueOf((s.args || {}).value) : null;
    out.push({ kind: "signal", channel: a.signal, signal: a.signal, from: s, to: d, merged,
      value: v ? `${v[0] === "ptr" ? "sival_ptr" : "sival_int"}=${v[1]}` : null,
      mergedSeqs: realtime ? [] : cands.slice(1).map((c) => c.seq) });
  }
  out.sort((x, y) => x.to.seq - y.to.seq);
  return out;
}

/** Calls that take a unit from a semaphore, and the call that gives one back. */
const SEM_TAKES = new Set(["sem_wait"]);
const SEM_GIVES = new Set(["sem_post"]);

/**
 * Pair each sem_wait that found its semaphore at 0 with the sem_post that woke it: the latest
 * successful post on the same semaphore, by another process, started while the wait was inside the
 * kernel (a blocked process cannot post its own). Posts nobody was waiting for, or whose unit the
 * posting process took back before the sleeper ran, release nothing and get no arrow.
 */
export function matchReleases(trace) {
  const events = (trace.events || []).slice().sort((a, b) => a.seq - b.seq);
  const ok = (e) => e.returned !== false && !e.errno && (e.result === 0 || e.result === undefined);
  const chan = (e) => (e.args || {}).channel ?? (e.args || {}).sem;
  const waits = events.filter((w) => SEM_TAKES.has(w.call) && ok(w) && (w.args || {}).value_before === 0)
    .sort((a, b) => (a.end_ns ?? a.t_ns) - (b.end_ns ?? b.t_ns) || a.seq - b.seq);
  const used = new Set();
  const out = [];
  for (const w of waits) {
    const end = w.end_ns ?? w.t_ns;
    const cands = events.filter((p) => SEM_GIVES.has(p.call) && ok(p) && !used.has(p.seq) &&
      p.process !== w.process && chan(p) === chan(w) && p.t_ns >= w.t_ns && p.t_ns <= end);
    if (cands.length === 0) continue;
    const p = cands.reduce((a, b) => (b.t_ns > a.t_ns ? b : a));
    used.add(p.seq);
    out.push({ kind: "release", channel: chan(w), from: p, to: w });
  }
  out.sort((x, y) => x.to.seq - y.to.seq);
  return out;
}

/** A call with a measured span: it reports blocked_ns, or it never returned. */
export function hasSpan(ev) {
  return stuck(ev) || (typeof ev.blocked_ns === "number" && ev.blocked_ns > 0);
}

/** Long enough to count as waiting even when nobody else did anything meanwhile (a sleep, a timeout). */
export const WAIT_NS = 1_000_000;

/**
 * The calls that really waited: they never returned, lasted WAIT_NS or more, or another process
 * started a call while they were inside theirs. A write that took 2 µs reports blocked_ns too, but
 * drawing it as "blocked" would tell a student something that did not happen.
 */
export function waitedSeqs(events, runEnd) {
  const out = new Set();
  for (const ev of events) {
    if (!hasSpan(ev)) continue;
    const end = stuck(ev) ? runEnd : ev.end_ns ?? ev.t_ns;
    if (stuck(ev) || end - ev.t_ns >= WAIT_NS ||
        events.some((o) => o.process !== ev.process && o.t_ns > ev.t_ns && o.t_ns < end)) out.add(ev.seq);
  }
  return out;
}

/** Everything the views share, computed once per trace. */
export function buildModel(trace) {
  const events = (trace.events || []).slice().sort((a, b) => a.seq - b.seq);
  const procNames = (trace.processes || []).map((p) => p.name);
  for (const ev of events) if (!procNames.includes(ev.process)) procNames.push(ev.process);
  const processes = procNames.map((name, index) => {
    const p = (trace.processes || []).find((q) => q.name === name) || { name, pid: null, exit: null };
    const own = events.filter((e) => e.process === name);
    return { ...p, index, events: own };
  });
  const runEnd = Math.max(
    (trace.run && trace.run.duration_ns) || 0,
    ...events.map((e) => Math.max(e.t_ns || 0, e.end_ns || 0)),
  );
  for (const p of processes) {
    const ends = p.events.map((e) => (stuck(e) ? runEnd : Math.max(e.t_ns, e.end_ns || 0)));
    p.lastNs = ends.length ? Math.max(...ends) : 0;
    p.neverReturned = p.events.some(stuck);
  }
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  return {
    trace, events, processes, bySeq, runEnd,
    processIndex: new Map(processes.map((p) => [p.name, p.index])),
    transfers: matchTransfers(trace),
    signals: matchSignals(trace),
    releases: matchReleases(trace),
    spans: events.filter(hasSpan),
    waited: waitedSeqs(events, runEnd),
    calls: [...new Set(events.map((e) => e.call))].sort(),
  };
}
