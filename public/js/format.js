// Formatting of trace values in the course's words: times, calls, payloads, exits.

export function ms(ns, digits = 3) {
  if (ns === null || ns === undefined) return "—";
  return `${(ns / 1e6).toFixed(digits)} ms`;
}

/** A short human duration: 12 µs, 1.40 ms, 2.00 s. */
export function duration(ns) {
  if (ns === null || ns === undefined) return "—";
  if (ns < 1e3) return `${ns} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

/** Bytes of a payload, from its hex when present (exact), else from its text. */
export function payloadBytes(payload) {
  if (!payload) return null;
  if (typeof payload.hex === "string" && payload.hex.length % 2 === 0) {
    const out = new Uint8Array(payload.hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(payload.hex.substr(i * 2, 2), 16);
    return out;
  }
  if (typeof payload.text === "string") return new TextEncoder().encode(payload.text);
  return null;
}

/** Bytes shown as a C string literal body: printable ASCII as is, the rest escaped. */
export function escapeBytes(bytes) {
  let s = "";
  for (const b of bytes) {
    if (b === 0) s += "\\0";
    else if (b === 10) s += "\\n";
    else if (b === 9) s += "\\t";
    else if (b === 13) s += "\\r";
    else if (b === 34) s += '\\"';
    else if (b === 92) s += "\\\\";
    else if (b >= 32 && b < 127) s += String.fromCharCode(b);
    else s += "\\x" + b.toString(16).padStart(2, "0");
  }
  return s;
}

/** "Hello\0" (quoted, cut to max characters with …) or null. */
export function preview(bytes, max = 14, truncated = false) {
  if (!bytes || bytes.length === 0) return null;
  let body = escapeBytes(bytes);
  let cut = truncated;
  if (body.length > max) { body = body.slice(0, max); cut = true; }
  return `"${body}"${cut ? "…" : ""}`;
}

function argValue(v) {
  if (v === null || v === undefined) return "NULL";
  // identifiers (F_GETPIPE_SZ, O_WRONLY|O_NONBLOCK, process names) read best bare, as in C
  if (typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_|]*$/.test(v)) return v;
  if (typeof v === "string") return v.length > 16 ? JSON.stringify(v.slice(0, 16)) + "…" : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(argValue).join(", ")}]`;
  if (typeof v === "object") {
    const body = Object.entries(v).map(([k, x]) => `${k}:${typeof x === "object" && x !== null ? "…" : String(x)}`).join(",");
    return body.length <= 24 ? `{${body}}` : "{…}";
  }
  return String(v);
}

const HIDDEN_IN_SIGNATURE = new Set(["channel", "end", "process"]);

/** exit/_exit/exit_group never return by design: the trace says returned:false, but nothing blocked. */
export function isExitCall(ev) {
  return /^(_?exit|exit_group|_Exit)$/.test(ev.call || "");
}

/** A call that was still inside the kernel when its process died or the run ended (exit excepted). */
export function stuck(ev) {
  return ev.returned === false && !isExitCall(ev);
}

/** The call as a C-like line: write(4, 6) = 6, read(3, 6) = -1 EAGAIN. */
export function signature(ev, { withResult = true } = {}) {
  const args = ev.args || {};
  const keys = Object.keys(args).filter((k) => !HIDDEN_IN_SIGNATURE.has(k));
  keys.sort((a, b) => (a === "fd" ? -1 : b === "fd" ? 1 : 0));
  const inner = keys.map((k) => (k === "fd" || k === "count" ? argValue(args[k]) : `${k}=${argValue(args[k])}`));
  let line = `${ev.call}(${inner.join(", ")})`;
  const nothing = !stuck(ev) && !ev.errno && (ev.result === null || ev.result === undefined);
  if (withResult && !nothing) line += ` = ${resultText(ev)}`;
  return line;
}

export function resultText(ev) {
  if (stuck(ev)) return "? (never returned)";
  if (isExitCall(ev) && (ev.result === null || ev.result === undefined)) return "— (does not return)";
  if (ev.errno) return `-1 ${ev.errno}`;
  if (ev.result === null || ev.result === undefined) return "—";
  return argValue(ev.result);
}

/** Where a call says which channel (and end) it touched: "p", "p (write end)". */
export function channelText(ev) {
  const a = ev.args || {};
  if (!a.channel) return null;
  return a.end ? `${a.channel} (${a.end} end)` : String(a.channel);
}

/** How a process ended, in words. */
export function exitText(exit) {
  if (!exit) return "did not end (no exit recorded)";
  if (exit.signal) return `killed by ${exit.signal}${exit.core_dumped ? " (core dumped)" : ""}`;
  if (exit.code !== undefined && exit.code !== null) return `exit ${exit.code}`;
  return "ended";
}

export function exitShort(exit) {
  if (!exit) return "no exit";
  if (exit.signal) return `✖ ${exit.signal}`;
  return `exit ${exit.code}`;
}

export function plural(n, one, many = one + "s") {
  return `${n} ${n === 1 ? one : many}`;
}
