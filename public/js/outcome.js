// The banner above the results: how the run ended (ok / timeout / limit_exceeded / error), or why it
// could not run at all.

import { h, clear } from "./dom.js";
import { duration, plural } from "./format.js";
import { parseUnknown } from "./suggest.js";

const TEXT = {
  ok: "Run finished",
  timeout: "Run timed out",
  limit_exceeded: "Run stopped: a limit was exceeded",
  error: "Run failed",
};

export function showOutcome(el, trace, { example = false } = {}) {
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
    h("strong", {}, (outcome === "ok" ? "✓ " : "⚠ ") + (example ? "Example run (recorded earlier)" : TEXT[outcome] || `Run ended: ${outcome}`)),
    h("span", {}, ` — ${facts.join(" · ")}`),
  );
  if (run.reason) el.append(h("span", { class: "reason" }, [h("br"), `Reason: ${run.reason}`]));
  if (run.events_dropped > 0) el.append(h("span", { class: "reason" }, [h("br"), `${run.events_dropped} events were dropped (the trace is incomplete).`]));
  el.hidden = false;
}

/** How a grade came out: passed, or the score and that the first failing run is shown. */
export function showGrade(el, grade) {
  clear(el);
  const failed = (grade.checks || []).filter((c) => !c.passed).length;
  el.className = `banner ${grade.passed ? "outcome-ok" : "outcome-timeout"}`;
  el.append(
    h("strong", {}, grade.passed ? `✓ Graded: every check passed in all ${plural(grade.runs, "run")}`
      : `⚠ Graded: ${plural(failed, "check")} failed in at least one of ${plural(grade.runs, "run")}`),
    h("span", {}, ` — score ${grade.score} of ${grade.max_score}${grade.failing_trace ? "; the first failing run is shown below" : ""}.`),
  );
  el.hidden = false;
}

/** A line added under what the banner says (e.g. what a replay found). */
export function addNote(el, text) {
  el.append(h("span", { class: "reason banner-note" }, [h("br"), text]));
}

/**
 * An error message as nodes: a server message that lists every allowed name ("unknown op "x"; one
 * of: …") becomes the short part and "did you mean …?", the full list folded in a <details>.
 */
export function errorText(message, { withList = false } = {}) {
  const u = parseUnknown(message);
  if (!u) return [String(message ?? "")];
  const out = [u.short];
  if (u.suggestions.length) out.push(" — did you mean ", ...u.suggestions.flatMap((x, i) => [i ? " or " : "", h("code", { class: "suggestion" }, x)]), "?");
  if (withList) out.push(h("details", { class: "choices" }, [h("summary", {}, `all ${u.choices.length} names`), h("p", { class: "code" }, u.choices.join(", "))]));
  return out;
}

/** An error that kept the run from happening (bad request, server busy, network). */
export function showError(el, err, { title = "⚠ Could not run" } = {}) {
  clear(el);
  el.className = "banner outcome-error";
  const parts = [h("strong", {}, title), " — ", ...errorText(err.message || "The run could not start.")];
  const more = (err.errors?.length || 1) - 1;
  if (more > 0) parts.push(` — and ${plural(more, "more error")}, each marked where it is.`);
  if (err.status === 503 && err.retryAfter) parts.push(` Try again in ${err.retryAfter} s.`);
  if (err.code) parts.push(h("span", { class: "code-chip" }, err.code));
  if (err.path) parts.push(h("span", { class: "code-chip" }, err.path));
  el.append(...parts);
  el.hidden = false;
}

export function showBusy(el, text) {
  clear(el);
  el.className = "banner outcome-busy";
  el.append(h("span", { class: "spinner", "aria-hidden": "true" }), text);
  el.hidden = false;
}

export function hide(el) { el.hidden = true; clear(el); }
