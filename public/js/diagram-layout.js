// Geometry of the sequence diagram: where each lifeline, event and time sits, for the two modes.
// "order": one row per event (seq order), times between rows interpolated.
// "scale": y proportional to t_ns.

import { signature, stuck } from "./format.js";
import { RECV_CALLS } from "./trace-model.js";

export const ROW = 30;          // px per event row in "order" mode
export const TOP = 18;          // body padding above the first row
export const CHAR_W = 6.7;      // monospace 11px
const MIN_COL = 104, MAX_COL = 260;

const NOISE = new Set(["uid", "from_handler", "si_uid", "si_code", "handled", "sem", "flags", "msgflg", "protocol"]);

function resultTail(ev) {
  if (stuck(ev)) return " = ? (blocked)";
  if (ev.errno) return ` = -1 ${ev.errno}`;
  return "";
}

/**
 * The label drawn beside an event mark: the call's signature, shortened where the full one (in the
 * table and the details) would run over the next lifeline. Signals name the process, not the pid.
 */
export function eventLabel(ev) {
  const a = ev.args || {};
  if (ev.call === "kill" || ev.call === "tgkill" || ev.call === "tkill") {
    return `${ev.call}(${a.process ?? a.pid}, ${a.signal})${resultTail(ev)}`;
  }
  if (ev.call === "sigqueue") {
    const v = a.value && typeof a.value === "object" ? Object.values(a.value)[0] : a.value;
    return `sigqueue(${a.process ?? a.pid}, ${a.signal}, ${v})${resultTail(ev)}`;
  }
  if (ev.call === "deliver") {
    const v = a.si_value && a.si_code === "SI_QUEUE" ? ` value ${a.si_value.sival_int}` : "";
    const from = a.sender ? ` from ${a.sender}` : a.si_pid ? ` from pid ${a.si_pid}` : "";
    return `⚡${a.signal}${from}${v}${a.si_code && !/^SI_(USER|QUEUE)$/.test(a.si_code) ? ` (${a.si_code})` : ""}`;
  }
  if (/^sem_(wait|post|trywait|timedwait)$|^sem(op|ctl)$/.test(ev.call) && a.channel) {
    const was = typeof a.value_before === "number" ? ` (was ${a.value_before})` : "";
    return `${ev.call}(${a.channel})${was}${resultTail(ev)}`;
  }
  const trimmed = { ...ev, args: Object.fromEntries(Object.entries(a).filter(([k, v]) => !NOISE.has(k) || (k === "flags" && v !== "0") || (k === "msgflg" && v !== "0"))) };
  let text = signature(trimmed);
  if (RECV_CALLS.has(ev.call) && ev.result === 0 && !ev.errno) text += " EOF";
  return text;
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function layout(model, mode, availableWidth = 900) {
  const { events, processes, runEnd } = model;
  const n = Math.max(processes.length, 1);
  // left column: seq and time; on a phone only the seq (order) or the time (scale)
  const narrow = availableWidth < 460;
  const GUTTER = narrow ? (mode === "scale" ? 64 : 44) : 92;
  // Columns only need room for arrows: an event's label may run over its neighbours' lifelines
  // (one event per row in "order" mode; labels that would collide are left out in "scale" mode).
  const labelChars = 40;
  const labelW = (e) => Math.min(labelChars, eventLabel(e).length) * CHAR_W;
  const idx = (name) => model.processIndex.get(name) ?? 0;
  // An event's label goes left of its mark when all its arrows leave to the right, so arrows do not
  // run through it; the first lifeline then moves right to make room.
  const peers = new Map();
  for (const t of [...model.transfers, ...(model.signals || []), ...(model.releases || [])]) {
    for (const [a, b] of [[t.from, t.to], [t.to, t.from]]) {
      if (!peers.has(a.seq)) peers.set(a.seq, []);
      peers.get(a.seq).push(idx(b.process));
    }
  }
  const labelLeft = new Set();
  for (const ev of events) {
    const others = peers.get(ev.seq) || [];
    if (others.length && others.every((o) => o > idx(ev.process)) && ((n <= 4 && !narrow) || idx(ev.process) > 0)) labelLeft.add(ev.seq);
  }
  const widest = (list) => Math.max(0, ...list.map(labelW));
  const firstLeft = widest(events.filter((e) => labelLeft.has(e.seq) && idx(e.process) === 0)) + 20;
  const lastRight = Math.max(widest(events.filter((e) => !labelLeft.has(e.seq) && idx(e.process) === n - 1)), 60) + 24;
  // the columns share what is left once the first lifeline's left labels and the last one's right labels fit
  const leftRoom = n <= 4 && !narrow ? firstLeft : 0;
  const fitting = n > 1 ? (availableWidth - GUTTER - Math.max(leftRoom, MIN_COL / 2) - lastRight - 4) / (n - 1) : MAX_COL;
  const col = Math.max(MIN_COL, Math.min(MAX_COL, fitting));
  const first = Math.max(col / 2, leftRoom);
  const xOf = (name) => GUTTER + first + idx(name) * col;
  const width = GUTTER + first + (n - 1) * col + Math.max(lastRight, col / 2);

  const rowY = new Map();       // seq -> y of the event mark
  let yAt;                      // ns -> y
  let ticks = [];               // gutter marks: {y, text, seq?}
  let bottom;

  if (mode === "scale") {
    const span = Math.max(runEnd, 1);
    const height = Math.min(4000, Math.max(360, events.length * 22));
    const k = height / span;
    yAt = (t) => TOP + Math.max(0, t) * k;
    for (const ev of events) rowY.set(ev.seq, yAt(ev.t_ns));
    const step = niceStep(60 / k);
    for (let t = 0; t <= span + step / 2; t += step) {
      ticks.push({ y: yAt(t), text: `${(t / 1e6).toFixed(step < 1e4 ? 3 : step < 1e6 ? 2 : 1)} ms` });
    }
    bottom = yAt(span);
  } else {
    const times = events.map((e) => e.t_ns);
    events.forEach((ev, i) => rowY.set(ev.seq, TOP + i * ROW + ROW / 2));
    const last = events.length - 1;
    const endRowY = TOP + (last + 1) * ROW + ROW / 2;
    yAt = (t) => {
      if (events.length === 0) return TOP;
      if (t <= times[0]) return TOP + ROW / 2;
      let lo = 0, hi = last;         // last index with times[i] <= t
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (times[mid] <= t) lo = mid; else hi = mid - 1;
      }
      const y0 = TOP + lo * ROW + ROW / 2;
      if (lo === last) {
        const span = Math.max(runEnd - times[last], 1);
        return y0 + Math.min(1, (t - times[last]) / span) * (endRowY - y0);
      }
      const dt = times[lo + 1] - times[lo];
      return y0 + (dt > 0 ? (t - times[lo]) / dt : 0) * ROW;
    };
    ticks = events.map((ev) => ({ y: rowY.get(ev.seq), seq: ev.seq, text: narrow ? "" : `${(ev.t_ns / 1e6).toFixed(3)} ms` }));
    bottom = endRowY;
  }

  // Where lifelines start (a fork/spawn event that created the process) and end (last activity).
  const starts = new Map();
  for (const p of processes) {
    const creator = events.find((e) => /^(fork|vfork|clone|posix_spawn|spawn)$/.test(e.call) && e.process !== p.name &&
      ((e.args && (e.args.child === p.name || e.args.process === p.name)) || (p.pid !== null && e.result === p.pid)));
    starts.set(p.name, creator ? { y: rowY.get(creator.seq), by: creator } : { y: TOP, by: null });
  }
  const ends = new Map(processes.map((p) => [p.name, p.events.length ? yAt(p.lastNs) + (mode === "order" ? ROW / 2 : 8) : TOP + ROW]));
  const height = Math.max(bottom, ...ends.values()) + 46;
  return { mode, gutter: GUTTER, col, width, height, xOf, rowY, yAt, ticks, starts, ends, labelChars, labelLeft };
}
