// "Edit as scenario": the scenario JSON in a textarea; errors name their path and are marked in the text
// (a backdrop behind the transparent textarea carries the <mark>).

import { h, clear } from "./dom.js";
import { locate, locateAll, lineCol, JsonSyntaxError } from "./json-locate.js";
import { errorText } from "./outcome.js";

export function createEditor(root, { onRun, onClose, onInvalid = () => {} }) {
  const textarea = h("textarea", { id: "scenario-text", spellcheck: "false", autocomplete: "off", rows: 18,
    "aria-describedby": "scenario-hint scenario-error", wrap: "off" });
  const marks = h("div", { class: "editor-marks", "aria-hidden": "true" });
  const error = h("div", { id: "scenario-error", class: "editor-error", role: "alert", hidden: true });
  const wall = h("input", { id: "scenario-wall_ms", type: "number", min: 1, step: 1, value: 2000, inputmode: "numeric" });
  const runBtn = h("button", { type: "submit", class: "primary", id: "scenario-run" }, "Run scenario");
  const closeBtn = h("button", { type: "button", id: "scenario-close" }, "Back to the form");
  const form = h("form", { class: "scenario-form", novalidate: true }, [
    h("label", { for: "scenario-text", class: "editor-label" }, "Scenario (JSON)"),
    h("p", { id: "scenario-hint", class: "hint" },
      "Channels and processes, each process a list of steps (write, read, close, sleep, wait, exit…). The first process creates the channels and forks the others."),
    h("div", { class: "editor-wrap" }, [marks, textarea]),
    error,
    h("div", { class: "editor-actions" }, [
      h("label", { for: "scenario-wall_ms" }, "time limit (ms)"), wall, runBtn, closeBtn,
    ]),
  ]);
  clear(root).append(form);

  const paint = (range) => {
    const t = textarea.value;
    clear(marks);
    if (range) marks.append(t.slice(0, range.start), h("mark", {}, t.slice(range.start, Math.max(range.end, range.start + 1)) || " "), t.slice(range.end) + "\n");
    else marks.append(t + "\n");
    marks.scrollTop = textarea.scrollTop;
    marks.scrollLeft = textarea.scrollLeft;
  };
  textarea.addEventListener("scroll", () => { marks.scrollTop = textarea.scrollTop; marks.scrollLeft = textarea.scrollLeft; });
  textarea.addEventListener("input", () => { error.hidden = true; textarea.removeAttribute("aria-invalid"); paint(null); });

  const show = (message, range, code) => {
    clear(error);
    const where = range ? lineCol(textarea.value, range.start) : null;
    error.append(
      h("strong", {}, code ? `${code}: ` : "Error: "), ...(typeof message === "string" ? errorText(message, { withList: true }) : [message]),
      where ? h("span", { class: "where" }, ` (line ${where.line}, column ${where.col})`) : null,
    );
    error.hidden = false;
    textarea.setAttribute("aria-invalid", "true");
    paint(range);
    if (range) {
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(range.start, range.end);
      // bring the marked text into the textarea's view
      const { line } = lineCol(textarea.value, range.start);
      const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (line - 4) * lh);
      marks.scrollTop = textarea.scrollTop;
    }
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = textarea.value;
    try {
      locateAll(text);
    } catch (err) {
      if (err instanceof JsonSyntaxError) {
        show(`not valid JSON — ${err.message}`, { start: err.pos, end: err.pos + 1 }, "invalid_json");
        onInvalid({ code: "invalid_json", message: `The scenario is not valid JSON (${err.message}); nothing was run.` });
        return;
      }
      throw err;
    }
    const w = wall.value.trim();
    onRun({ scenario: JSON.parse(text), ...(w ? { limits: { wall_ms: Number(w) } } : {}) });
  });
  closeBtn.addEventListener("click", () => onClose());

  return {
    open(scenario, wallMs) {
      textarea.value = JSON.stringify(scenario, null, 2);
      if (wallMs) wall.value = wallMs;
      error.hidden = true;
      textarea.removeAttribute("aria-invalid");
      paint(null);
      textarea.focus();
    },
    /** Show a server error; a path under scenario.* is located and marked. */
    showError(err) {
      if (err.path === "limits.wall_ms") { show(`${err.path}: ${err.message}`, null, err.code); wall.focus(); return; }
      const range = err.path && err.path.startsWith("scenario") ? locate(textarea.value, err.path) : null;
      show(err.path ? `${err.path}: ${err.message}` : err.message, range, err.code);
    },
    clearError() { error.hidden = true; textarea.removeAttribute("aria-invalid"); paint(null); },
    /** Whether there is a form to go back to (not for a scenario opened from a link). */
    setCanClose(yes) { closeBtn.hidden = !yes; },
  };
}
