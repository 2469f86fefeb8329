// The banner above the results: how the run ended (ok / timeout / limit_exceeded / error), or why it
// could not run at all.

import { h, clear } from "./dom.js";
import { duration, plural } from "./format.js";

const TEXT = {
  ok: "Run finished",
  timeout: "Run timed out",
  limit_exceeded: "Run stopped: a limit was exceeded",
  error: "Run failed",
};

export function showOutcome(el, trace) {
  const run = trace.run || {};
  const outcome = run.outcome || "error";
  clear(el);
  el.className = `banner outcome-${outcome}`;
  const facts = [
    `${duration(run.duration_ns)}`,
    plural((trace.processes || []).length, "process", "processes"),
    plural((trace.events || []).length, "event"),
  ];
  if (run.limits && run.limits.wall_ms) facts.push(`limit ${run.limits.wall_ms} ms`);
  el.append(
    h("strong", {}, (outcome === "ok" ? "✓ " : "⚠ ") + (TEXT[outcome] || `Run ended: ${outcome}`)),
    h("span", {}, ` — ${facts.join(" · ")}`),
  );
  if (run.reason) el.append(h("span", { class: "reason" }, [h("br"), `Reason: ${run.reason}`]));
  if (run.events_dropped > 0) el.append(h("span", { class: "reason" }, [h("br"), `${run.events_dropped} events were dropped (the trace is incomplete).`]));
  el.hidden = false;
}

/** An error that kept the run from happening (bad request, server busy, network). */
export function showError(el, err) {
  clear(el);
  el.className = "banner outcome-error";
  let msg = err.message;
  if (err.status === 503 && err.retryAfter) msg += ` Try again in ${err.retryAfter} s.`;
  el.append(h("strong", {}, "⚠ Could not run"), ` — ${msg}`,
    err.code ? h("span", { class: "code-chip" }, err.code) : null,
    err.path ? h("span", { class: "code-chip" }, err.path) : null);
  el.hidden = false;
}

export function showBusy(el, text) {
  clear(el);
  el.className = "banner outcome-busy";
  el.append(h("span", { class: "spinner", "aria-hidden": "true" }), text);
  el.hidden = false;
}

export function hide(el) { el.hidden = true; clear(el); }
