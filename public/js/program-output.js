// What each process of a C program run printed: its stdout and stderr as the trace captured them
// (processes[].stdout / .stderr, `truncated` when the capture was cut). Hidden for runs of presets
// and scenarios, whose processes have no captured output.

import { h, clear } from "./dom.js";

function ending(p) {
  if (!p.exit) return "still running when the run ended";
  if (p.exit.signal) return `killed by ${p.exit.signal}${p.exit.core_dumped ? " (core dumped)" : ""}`;
  return `exited with code ${p.exit.code}`;
}

function stream(label, text, cls) {
  return h("div", { class: "c-stream" }, [
    h("h4", {}, label),
    text ? h("pre", { class: `c-out ${cls}`, tabindex: "0" }, text) : h("p", { class: "muted small" }, "(nothing)"),
  ]);
}

/** Fill `root` with each process's output; returns whether there was any to show. */
export function renderProgramOutput(root, trace) {
  const procs = (trace?.processes || []).filter((p) => typeof p.stdout === "string" || typeof p.stderr === "string");
  clear(root);
  root.hidden = procs.length === 0;
  if (!procs.length) return false;
  root.append(h("h2", { id: "output-title" }, "Program output"));
  for (const p of procs) {
    const parent = p.parent ? `, child of ${p.parent}` : "";
    root.append(h("section", { class: "c-proc", "data-process": p.name }, [
      h("h3", {}, [p.name, h("span", { class: "muted" }, ` · pid ${p.pid}${parent} · ${ending(p)}`)]),
      stream("stdout", p.stdout, "stdout"),
      p.stderr ? stream("stderr", p.stderr, "stderr") : null,
      p.truncated ? h("p", { class: "muted small" }, "The output was cut: the trace keeps the first bytes of each stream.") : null,
    ]));
  }
  return true;
}
