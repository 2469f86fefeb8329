// Details of one event: in a floating tip on hover/focus, and in the "Selected event" panel on click.

import { h, clear } from "./dom.js";
import { signature, resultText, duration, ms, payloadBytes, escapeBytes, channelText, stuck } from "./format.js";

const ERRNO = {
  EAGAIN: "the call would block and the descriptor is non-blocking",
  EPIPE: "no process has the read end open",
  EINTR: "a signal interrupted the call",
  EBADF: "not an open descriptor (or not open for this direction)",
  EINVAL: "an argument is not valid here",
  ENOENT: "no such file or object",
  EEXIST: "it already exists",
  ENXIO: "no reader has the FIFO open (non-blocking open for writing)",
  ENOMSG: "no message of the wanted type",
  EIDRM: "the object was removed",
  ETIMEDOUT: "the time limit passed",
  ECHILD: "no such child to wait for",
  ESRCH: "no such process",
  EPERM: "not permitted",
  EACCES: "permission denied",
  EMSGSIZE: "the message is too large",
  ECONNREFUSED: "nobody is listening there",
  EBUSY: "the resource is busy",
};

function row(term, value, cls) {
  if (value === null || value === undefined || value === "") return [];
  return [h("dt", {}, term), h("dd", { class: cls || null }, value)];
}

/** A definition list describing the event: who, the call, args, result, errno, timing, payload, transfers. */
export function eventDetails(ev, model) {
  const p = model.processes[model.processIndex.get(ev.process)];
  const args = Object.entries(ev.args || {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
  const bytes = payloadBytes(ev.payload);
  const payload = bytes ? `"${escapeBytes(bytes)}"${ev.payload.truncated ? "…" : ""} (${ev.payload.bytes ?? bytes.length} B)` : null;
  const errno = ev.errno ? `${ev.errno}${ERRNO[ev.errno] ? ` — ${ERRNO[ev.errno]}` : ""}` : null;
  let blocked = null;
  if (stuck(ev)) blocked = "blocked and never returned (the process was killed or the run ended)";
  else if (ev.blocked_ns > 0 && model.waited.has(ev.seq)) blocked = `${duration(ev.blocked_ns)} (returned at ${ms(ev.end_ns)})`;
  else if (ev.blocked_ns > 0) blocked = `no: ${duration(ev.blocked_ns)} in the call, nothing else ran meanwhile`;
  const sent = model.transfers.filter((t) => t.from.seq === ev.seq)
    .map((t) => `${t.bytes} B → ${t.to.process} #${t.to.seq}`).join("; ");
  const got = model.transfers.filter((t) => t.to.seq === ev.seq)
    .map((t) => `${t.bytes} B ← ${t.from.process} #${t.from.seq}`).join("; ");
  const sigs = model.signals || [];
  const signalled = sigs.filter((t) => t.from.seq === ev.seq).map((t) => `${t.signal} → delivered to ${t.to.process} #${t.to.seq}`)
    .concat(sigs.filter((t) => t.mergedSeqs && t.mergedSeqs.includes(ev.seq))
      .map((t) => `${t.signal} merged into the one already pending (delivered once, #${t.to.seq})`)).join("; ");
  const rel = model.releases || [];
  const woke = rel.filter((t) => t.from.seq === ev.seq).map((t) => `${t.to.process} #${t.to.seq} (its sem_wait on ${t.channel} returned)`).join("; ");
  const wokenBy = rel.filter((t) => t.to.seq === ev.seq).map((t) => `sem_post by ${t.from.process} #${t.from.seq}`).join("; ");
  const cause = sigs.filter((t) => t.to.seq === ev.seq).map((t) => `${t.from.call} by ${t.from.process} #${t.from.seq}`).join("; ");
  return h("div", { class: "event-details" }, [
    h("p", { class: "details-title" }, [
      h("strong", {}, `#${ev.seq}`), ` ${ev.process} (pid ${ev.pid ?? p?.pid ?? "?"})`,
      ev.step !== null && ev.step !== undefined ? h("span", { class: "muted" }, ` · step ${ev.step}`) : null,
    ]),
    h("p", { class: "details-call code" }, signature(ev)),
    h("dl", {}, [
      ...row("call", ev.call),
      ...row("args", args || "(none)", "code"),
      ...row("channel", channelText(ev)),
      ...row("result", ev.errno ? "-1" : resultText(ev), "code"),
      ...row("errno", errno, "errno"),
      ...row("started", ms(ev.t_ns)),
      ...row("blocked", blocked, stuck(ev) || model.waited.has(ev.seq) ? "blocked-cell" : null),
      ...row("payload", payload, "code"),
      ...row("sent", sent),
      ...row("received", got),
      ...row("signal sent", signalled),
      ...row("sent by", cause),
      ...row("woke", woke),
      ...row("woken by", wokenBy),
    ]),
  ]);
}

/** The floating tip, shown next to the element pointed at or focused. */
export function createTip(tipEl) {
  let current = null;
  return {
    show(ev, model, anchor) {
      current = ev.seq;
      clear(tipEl).append(eventDetails(ev, model));
      tipEl.hidden = false;
      const r = anchor.getBoundingClientRect();
      const tw = tipEl.offsetWidth, th = tipEl.offsetHeight;
      const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
      let x = r.right + 12, y = r.top - 8;
      if (x + tw > vw - 8) x = r.left - tw - 12;
      if (x < 8) {
        // no room beside it (a table row, a phone): below it, or above when the bottom is near
        x = Math.max(8, Math.min(r.left + 24, vw - tw - 8));
        y = r.bottom + th + 8 < vh ? r.bottom + 6 : r.top - th - 6;
      }
      y = Math.max(8, Math.min(y, vh - th - 8));
      tipEl.style.left = `${x + window.scrollX}px`;
      tipEl.style.top = `${y + window.scrollY}px`;
    },
    hide() { current = null; tipEl.hidden = true; },
    get seq() { return current; },
  };
}
