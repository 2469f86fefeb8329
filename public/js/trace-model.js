// What the diagram and the tables need, derived from a trace (pure functions, no DOM):
// processes in order, transfers (which write's bytes which read received), blocked intervals, ends.

import { payloadBytes, preview } from "./format.js";

export const SEND_CALLS = new Set(["write", "writev", "pwrite", "send", "sendto", "sendmsg", "msgsnd", "mq_send", "mq_timedsend"]);
export const RECV_CALLS = new Set(["read", "readv", "pread", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive", "mq_timedreceive"]);

/** Channel kinds whose transfers keep message boundaries (one send → one receive). */
function isMessageKind(kind) {
  return /mq|msg|queue|dgram|udp/.test(kind || "");
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
 * Byte streams (pipes, FIFOs, stream sockets): per channel, the k-th byte written is the k-th byte
 * read, so a write covering bytes [w0, w1) and a read covering [r0, r1) share their overlap.
 * Message channels: a receive takes the oldest unmatched send with the same payload, else the oldest.
 */
export function matchTransfers(trace) {
  const kinds = new Map(((trace.scenario && trace.scenario.channels) || []).map((c) => [c.name, c.kind]));
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
    if (isMessageKind(kinds.get(channel))) matchMessages(channel, send, recv, transfers);
    else matchStream(channel, send, recv, transfers);
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
          channel, from: s.ev, to: r.ev, bytes: b - a, offset: a,
          preview: slicePreview(s.ev, a - w0, b - w0) ?? slicePreview(r.ev, a - r0, b - r0),
        });
      }
      if (w1 <= r1) { w++; wStart = w1; } else break;
    }
  }
}

function matchMessages(channel, sends, recvs, out) {
  const open = sends.slice();
  const hex = (ev) => (ev.payload && ev.payload.hex) || null;
  for (const r of recvs) {
    if (open.length === 0) break;
    let i = open.findIndex((s) => hex(s.ev) !== null && hex(s.ev) === hex(r.ev));
    if (i < 0) i = 0;
    const [s] = open.splice(i, 1);
    out.push({ channel, from: s.ev, to: r.ev, bytes: r.n, offset: null, preview: slicePreview(r.ev, 0, r.n) });
  }
}

/** A call with a measured span: it reports blocked_ns, or it never returned. */
export function hasSpan(ev) {
  return ev.returned === false || (typeof ev.blocked_ns === "number" && ev.blocked_ns > 0);
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
    const end = ev.returned === false ? runEnd : ev.end_ns ?? ev.t_ns;
    if (ev.returned === false || end - ev.t_ns >= WAIT_NS ||
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
    const ends = p.events.map((e) => (e.returned === false ? runEnd : Math.max(e.t_ns, e.end_ns || 0)));
    p.lastNs = ends.length ? Math.max(...ends) : 0;
    p.neverReturned = p.events.some((e) => e.returned === false);
  }
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  return {
    trace, events, processes, bySeq, runEnd,
    processIndex: new Map(processes.map((p) => [p.name, p.index])),
    transfers: matchTransfers(trace),
    spans: events.filter(hasSpan),
    waited: waitedSeqs(events, runEnd),
    calls: [...new Set(events.map((e) => e.call))].sort(),
  };
}
