// Geometry of the sequence diagram: where each lifeline, event and time sits, for the two modes.
// "order": one row per event (seq order), times between rows interpolated.
// "scale": y proportional to t_ns.

import { signature, stuck, preview, payloadBytes } from "./format.js";
import { RECV_CALLS, SEND_CALLS } from "./trace-model.js";

export const ROW = 30;          // px per event row in "order" mode
export const TOP = 18;          // body padding above the first row
export const CHAR_W = 6.7;      // monospace 11px
const MIN_COL = 104, MAX_COL = 340;

const NOISE = new Set(["uid", "from_handler", "si_uid", "si_code", "handled", "sem", "flags", "msgflg", "protocol"]);

function resultTail(ev) {
  if (stuck(ev)) return " = ? (blocked)";
  if (ev.errno) return ` = -1 ${ev.errno}`;
  return "";
}

const hex = (n) => (typeof n === "number" && n > 0xffff ? "0x" + n.toString(16) : String(n));
const dataOf = (ev) => preview(payloadBytes(ev.payload), 14, Boolean(ev.payload && ev.payload.truncated));

/**
 * What a call gave back, in the words of the lesson, put before the call so a cut never hides it:
 * the result (a new fd, a pid, bytes moved, EOF, the errno), the data, a message's priority, the value
 * loaded or stored. Empty when the call returns nothing worth reading first.
 */
export function labelValue(ev) {
  const a = ev.args || {};
  if (stuck(ev)) return "? blocked";
  if (ev.errno) return `-1 ${ev.errno}`;
  const data = dataOf(ev);
  switch (ev.call) {
    case "load_int": case "store_int": case "load_pointer": case "store_pointer":
      return a.value !== undefined ? `${ev.call.startsWith("load") ? "got" : "put"} ${/pointer/.test(ev.call) ? hex(a.value) : a.value}` : "";
    case "store": case "load": return data ? data : "";
    case "increment": return a.first_loaded !== undefined ? `${a.first_loaded}→${a.last_stored}` : `${ev.result}×`;
    case "accept": return `fd ${ev.result}`;
    case "open": case "socket": case "dup": case "dup2": case "mq_open": case "shm_open": return typeof ev.result === "number" ? `fd ${ev.result}` : "";
    case "fork": case "vfork": case "clone": return typeof ev.result === "number" ? `pid ${ev.result}` : "";
    case "mmap": case "shmat": return typeof ev.result === "number" ? hex(ev.result) : "";
    case "mq_receive": case "mq_timedreceive":
      return `prio ${a.msg_prio ?? "?"}${data ? " " + data : ` ${ev.result} B`}`;
    case "mq_send": case "mq_timedsend":
      return `prio ${a.msg_prio ?? "?"}${data ? " " + data : ""}`;
    default: break;
  }
  if (RECV_CALLS.has(ev.call)) {
    if (ev.result === 0) return "0 EOF";
    return data ? `${ev.result} ${data}` : typeof ev.result === "number" ? `${ev.result} B` : "";
  }
  if (SEND_CALLS.has(ev.call)) return data ? `${ev.result} ${data}` : typeof ev.result === "number" ? `${ev.result} B` : "";
  return "";
}

/** The call and its arguments (the result left out: labelValue says it), without the noise. */
function labelCall(ev, brief = false) {
  const a = ev.args || {};
  if (ev.call === "kill" || ev.call === "tgkill" || ev.call === "tkill") return `${ev.call}(${a.process ?? a.pid}, ${a.signal})`;
  if (ev.call === "sigqueue") {
    const v = a.value && typeof a.value === "object" ? Object.values(a.value)[0] : a.value;
    return `sigqueue(${a.process ?? a.pid}, ${a.signal}, ${v})`;
  }
  if (/^sem_(wait|post|trywait|timedwait)$|^sem(op|ctl)$/.test(ev.call) && a.channel) {
    const was = typeof a.value_before === "number" ? ` (was ${a.value_before})` : "";
    return `${ev.call}(${a.channel})${was}`;
  }
  if (/^(load|store)(_int|_pointer)?$|^increment$/.test(ev.call) && a.channel) return `${ev.call}(${a.channel}+${a.offset ?? 0})`;
  if (brief) return `${ev.call}(${a.channel ?? (a.fd ?? "")})`;
  const trimmed = { ...ev, args: Object.fromEntries(Object.entries(a).filter(([k, v]) => !NOISE.has(k) || (k === "flags" && v !== "0") || (k === "msgflg" && v !== "0"))) };
  const known = labelValue(ev) !== "" || ev.errno || stuck(ev);
  return signature(trimmed, { withResult: !known });
}

/**
 * The label drawn beside an event mark: the value first ("6 \"Hello\\0\" ← read(3, 6)"), then the call.
 * Given `chars`, the call is shortened before the value is ever cut. Signals name the process.
 */
export function eventLabel(ev, chars = Infinity) {
  const a = ev.args || {};
  if (ev.call === "deliver") {
    const v = a.si_value && a.si_code === "SI_QUEUE" ? ` value ${a.si_value.sival_int}` : "";
    const from = a.sender ? ` from ${a.sender}` : a.si_pid ? ` from pid ${a.si_pid}` : "";
    return cut(`⚡${a.signal}${v}${from}${a.si_code && !/^SI_(USER|QUEUE)$/.test(a.si_code) ? ` (${a.si_code})` : ""}`, chars);
  }
  const value = labelValue(ev);
  const arrow = SEND_CALLS.has(ev.call) || /^store|^sem_post|^kill|^sigqueue/.test(ev.call) ? " → " : " ← ";
  const join = (call) => (value ? value + arrow + call : call);
  let text = join(labelCall(ev));
  if (!value && RECV_CALLS.has(ev.call) && ev.result === 0 && !ev.errno) text += " EOF";
  if (text.length <= chars) return text;
  for (const call of [labelCall(ev, true), ev.call]) {
    const t = join(call);
    if (t.length <= chars) return t;
  }
  return cut(value || text, chars);
}

function cut(text, chars) {
  return text.length > chars ? text.slice(0, Math.max(1, chars - 1)) + "…" : text;
}

/** A run of the same call by the same process, one after another (kill ×100): one row for them all. */
function foldKey(ev) {
  if (ev.errno || stuck(ev) || ev.call === "deliver" || ev.call === "exit") return null;
  const a = ev.args || {};
  return `${ev.process}|${ev.call}|${a.channel ?? ""}|${a.process ?? a.pid ?? ""}|${a.signal ?? ""}|${ev.result ?? ""}`;
}

/** Rows of the diagram in "order" mode: [{seqs: [..]}], runs of MIN_FOLD or more identical calls folded. */
export const MIN_FOLD = 4;
export function foldRows(events, spanSeqs = new Set()) {
  const rows = [];
  let i = 0;
  while (i < events.length) {
    const key = foldKey(events[i]);
    let j = i + 1;
    if (key !== null && !spanSeqs.has(events[i].seq)) while (j < events.length && foldKey(events[j]) === key && !spanSeqs.has(events[j].seq)) j++;
    if (j - i >= MIN_FOLD) { rows.push(events.slice(i, j)); i = j; } else { rows.push([events[i]]); i++; }
  }
  return rows;
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
  let folds = [];               // runs of one call drawn as one row

  if (mode === "scale") {
    // from the first event, not from 0: the sandbox's set-up before it would take most of the height
    const t0 = events.length ? events[0].t_ns : 0;
    const span = Math.max(runEnd - t0, 1);
    const height = Math.min(4000, Math.max(360, events.length * 22));
    const k = height / span;
    yAt = (t) => TOP + Math.max(0, t - t0) * k;
    for (const ev of events) rowY.set(ev.seq, yAt(ev.t_ns));
    const step = niceStep(60 / k);
    for (let t = Math.floor(t0 / step) * step; t <= runEnd + step / 2; t += step) {
      if (t < t0) continue;
      ticks.push({ y: yAt(t), text: `${(t / 1e6).toFixed(step < 1e4 ? 3 : step < 1e6 ? 2 : 1)} ms` });
    }
    bottom = yAt(runEnd);
  } else {
    // one row per event, or per run of the same call folded into one (kill ×100)
    const rows = foldRows(events, new Set(model.spans.map((e) => e.seq)));
    const times = rows.map((r) => r[0].t_ns);
    rows.forEach((r, i) => r.forEach((ev) => rowY.set(ev.seq, TOP + i * ROW + ROW / 2)));
    const last = rows.length - 1;
    const endRowY = TOP + (last + 1) * ROW + ROW / 2;
    yAt = (t) => {
      if (rows.length === 0) return TOP;
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
    ticks = rows.map((r) => ({ y: rowY.get(r[0].seq), seq: r[0].seq, text: narrow ? "" : `${(r[0].t_ns / 1e6).toFixed(3)} ms` }));
    bottom = endRowY;
    folds = rows.filter((r) => r.length > 1);
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
  // A label stops before the next lifeline on its side (never across it); the first lifeline's left
  // labels and the last one's right labels have the room made for them above.
  const room = (ev) => {
    const i = idx(ev.process), left = labelLeft.has(ev.seq);
    if ((left && i === 0) || (!left && i === n - 1)) return labelChars;
    return Math.max(6, Math.floor((col - 22) / CHAR_W));
  };
  return { mode, gutter: GUTTER, col, width, height, xOf, rowY, yAt, ticks, starts, ends, labelChars, labelLeft, room, folds };
}
