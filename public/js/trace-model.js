// What the diagram and the tables need, derived from a trace (pure functions, no DOM):
// processes in order, the arrows the server paired (trace.transfers), blocked intervals, ends.

import { payloadBytes, preview, stuck } from "./format.js";

/** Calls that put bytes into a channel: the diagram's labels show what they sent (pairing is the server's, trace.transfers). */
export const SEND_CALLS = new Set(["write", "writev", "pwrite", "send", "sendto", "sendmsg", "msgsnd", "mq_send", "mq_timedsend"]);
/** Calls that take bytes out of a channel (a 0 result is end of file, in the diagram's labels). */
export const RECV_CALLS = new Set(["read", "readv", "pread", "recv", "recvfrom", "recvmsg", "msgrcv", "mq_receive", "mq_timedreceive"]);

function slicePreview(ev, from, to) {
  const bytes = payloadBytes(ev.payload);
  if (!bytes || from >= bytes.length) return null;
  const cut = bytes.slice(from, Math.min(to, bytes.length));
  return preview(cut, 12, to > bytes.length);
}

/**
 * The arrows of the diagram, from the pairs the server found (`trace.transfers`, see openapi.yaml):
 * the page draws them, it does not pair calls itself. Bytes between calls are `transfers` (memory
 * accesses are shown by the region's chart instead), signals `signals`, semaphore wake-ups `releases`.
 */
export function arrowsOf(trace, bySeq) {
  const transfers = [], signals = [], releases = [];
  const received = new Map();
  for (const t of trace.transfers || []) {
    const from = bySeq.get(t.from), to = bySeq.get(t.to);
    if (!from || !to) continue;
    if (t.kind === "data" && from.call !== "store") {
      // A receive's bytes arrive in the order of its transfers: this one's start where the last ended.
      const at = received.get(to.seq) || 0;
      received.set(to.seq, at + t.bytes);
      transfers.push({ kind: "data", channel: t.channel, from, to, bytes: t.bytes, preview: slicePreview(to, at, at + t.bytes) });
    } else if (t.kind === "signal") {
      const sent = (from.args || {}).value, got = (to.args || {}).si_value;
      const v = to.args && to.args.si_code === "SI_QUEUE" && got && sent && typeof sent === "object"
        ? (sent.sival_ptr !== undefined && sent.sival_int === undefined ? `sival_ptr=${sent.sival_ptr}` : `sival_int=${sent.sival_int}`) : null;
      const merged = t.merged || [];
      signals.push({ kind: "signal", channel: t.channel, signal: t.channel, from, to, merged: merged.length, value: v, mergedSeqs: merged });
    } else if (t.kind === "wake") {
      releases.push({ kind: "release", channel: t.channel, from, to });
    }
  }
  transfers.sort((a, b) => a.to.seq - b.to.seq || a.from.seq - b.from.seq);
  transfers.forEach((t, i) => (t.index = i));
  signals.sort((x, y) => x.to.seq - y.to.seq);
  releases.sort((x, y) => x.to.seq - y.to.seq);
  return { transfers, signals, releases };
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
  const { transfers, signals, releases } = arrowsOf(trace, bySeq);
  return {
    trace, events, processes, bySeq, runEnd,
    processIndex: new Map(processes.map((p) => [p.name, p.index])),
    transfers,
    signals,
    releases,
    spans: events.filter(hasSpan),
    waited: waitedSeqs(events, runEnd),
    calls: [...new Set(events.map((e) => e.call))].sort(),
  };
}
