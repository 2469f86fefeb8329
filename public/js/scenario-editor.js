// "Edit as scenario": the scenario JSON and, beside it, the checks editor; run once or grade many runs.
// Every error the server names is marked where its path is — the scenario's, a check's, a limit or a
// schedule field — all at once (the server's `error.errors`, or its one `error`).

import { h, clear } from "./dom.js";
import { locate, locateAll, JsonSyntaxError } from "./json-locate.js";
import { errorText } from "./outcome.js";
import { createCodeArea } from "./code-area.js";
import { createChecksEditor } from "./checks-editor.js";

const number = (id, attrs) => h("input", { id, type: "number", step: 1, inputmode: "numeric", ...attrs });

/** A client-side JSON syntax error as an error item for a code area. */
function syntaxItem(err, label) {
  return { code: "invalid_json", label, message: `not valid JSON — ${err.message}`, range: { start: err.pos, end: err.pos + 1 } };
}

export function createEditor(root, { onRun, onGrade = () => {}, onClose, onInvalid = () => {} }) {
  const scenario = createCodeArea({
    id: "scenario-text", errorsId: "scenario-error", label: "Scenario (JSON)",
    hint: "Channels and processes, each process a list of steps (write, read, close, sleep, wait, exit…). The first process creates the channels and forks the others.",
  });
  const checks = createChecksEditor();
  const wall = number("scenario-wall_ms", { min: 1, value: 2000 });
  const repeat = number("grade-repeat", { min: 1, max: 500, value: 20 });
  const seed = number("grade-seed", { min: 0, value: 1 });
  const jitter = number("grade-jitter_us", { min: 0, max: 100000, value: 1000 });
  const cpus = h("select", { id: "grade-cpus" }, ["any", "one", "spread"].map((c) => h("option", { value: c }, c)));
  const fieldError = h("p", { id: "settings-error", class: "editor-error", role: "alert", hidden: true });
  const runBtn = h("button", { type: "submit", class: "primary", id: "scenario-run" }, "Run scenario");
  const gradeBtn = h("button", { type: "button", id: "scenario-grade" }, "Grade");
  const closeBtn = h("button", { type: "button", id: "scenario-close" }, "Back to the form");
  const fields = { "limits.wall_ms": wall, repeat, "schedule.seed": seed, "schedule.jitter_us": jitter, "schedule.cpus": cpus };
  const field = (label, input, hint) => h("div", { class: "field" }, [h("label", { for: input.id }, label), input, hint ? h("p", { class: "hint" }, hint) : null]);
  const form = h("form", { class: "scenario-form", novalidate: true }, [
    h("div", { class: "editor-grid" }, [scenario.el, checks.el]),
    h("fieldset", { class: "grade-settings" }, [
      h("legend", {}, "Run and grade"),
      h("div", { class: "fields" }, [
        field("time limit per run (ms)", wall),
        field("runs to grade", repeat, "1…500; run i uses seed + i"),
        field("schedule seed", seed),
        field("jitter before each step (µs)", jitter, "0 perturbs nothing"),
        field("CPUs", cpus, "one: all on one CPU; spread: one each"),
      ]),
      fieldError,
    ]),
    h("div", { class: "editor-actions" }, [runBtn, gradeBtn, closeBtn]),
  ]);
  clear(root).append(form);

  const clearFields = () => {
    fieldError.hidden = true;
    for (const el of Object.values(fields)) el.removeAttribute("aria-invalid");
  };
  const clearAll = () => { scenario.clearErrors(); checks.area.clearErrors(); clearFields(); };

  /** The request the form describes, or null after marking what keeps it from being sent. */
  const read = (grading) => {
    clearAll();
    const bad = [];
    for (const [area, label] of [[scenario, "scenario"], [checks.area, "checks"]]) {
      if (label === "checks" && !area.value.trim()) continue;
      try { locateAll(area.value); } catch (err) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        area.showErrors([syntaxItem(err, label)], { focus: !bad.length });
        bad.push(`the ${label} (${err.message})`);
      }
    }
    const list = bad.length ? null : checks.read();
    if (list?.error) { checks.area.showErrors([{ code: "invalid_request", label: "checks", message: list.error, range: null }]); bad.push("the checks"); }
    if (!bad.length && grading && !list.checks.length) {
      checks.area.showErrors([{ code: "invalid_request", label: "checks", message: "Grading needs at least one check: press \"Starter checks\" for an example.", range: null }]);
      bad.push("the checks (none to grade by)");
    }
    if (bad.length) {
      onInvalid({ code: "invalid_json", message: `Fix ${bad.join(" and ")} first; nothing was run.` });
      return null;
    }
    const body = { scenario: JSON.parse(scenario.value) };
    const w = wall.value.trim();
    if (w) body.limits = { wall_ms: Number(w) };
    if (list.checks.length) body.checks = list.checks;
    if (grading) {
      if (repeat.value.trim()) body.repeat = Number(repeat.value);
      body.schedule = { seed: Number(seed.value || 1), jitter_us: Number(jitter.value || 0), cpus: cpus.value };
    }
    return body;
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = read(false);
    if (body) onRun(body);
  });
  gradeBtn.addEventListener("click", () => {
    const body = read(true);
    if (body) onGrade(body);
  });
  closeBtn.addEventListener("click", () => onClose());
  const updateGradeLabel = () => { gradeBtn.textContent = `Grade ${repeat.value || 20} runs`; };
  repeat.addEventListener("input", updateGradeLabel);
  updateGradeLabel();

  return {
    /** Open `sc` (from the experiment `experiment`, if any); the checks the student wrote stay. */
    open(sc, wallMs, experiment = null) {
      scenario.setValue(JSON.stringify(sc, null, 2));
      if (wallMs) wall.value = wallMs;
      clearAll();
      checks.open(sc, experiment);
      scenario.textarea.focus({ preventScroll: true });
      scenario.textarea.setSelectionRange(0, 0);
      scenario.textarea.scrollTop = 0;
    },
    /** Show a server error: every error it lists, each where its path points. */
    showError(err) {
      clearAll();
      const errors = err.errors && err.errors.length ? err.errors : [err];
      const inScenario = [], inChecks = [], elsewhere = [];
      for (const e of errors) {
        const path = e.path || "";
        const message = errorText(e.message, { withList: true });
        if (fields[path]) {
          fields[path].setAttribute("aria-invalid", "true");
          elsewhere.push([h("strong", {}, `${e.code}: ${path}: `), ...message]);
        } else if (/^checks(\.|\[|$)/.test(path)) {
          inChecks.push({ code: e.code, label: path, message, range: locate(checks.area.value, path, "checks") });
        } else {
          const range = /^scenario(\.|\[|$)/.test(path) ? locate(scenario.value, path) : null;
          const note = !range && e.line ? `line ${e.line}${e.column ? `, column ${e.column}` : ""} of the request` : null;
          inScenario.push({ code: e.code, label: path || null, message, range, note });
        }
      }
      // Errors without a place in either text are listed with the scenario's, so none is lost.
      if (inScenario.length) scenario.showErrors(inScenario);
      if (inChecks.length) checks.area.showErrors(inChecks, { focus: !inScenario.some((x) => x.range) });
      if (elsewhere.length) {
        clear(fieldError).append(...elsewhere.flatMap((m, i) => (i ? [h("br"), ...m] : m)));
        fieldError.hidden = false;
        if (!inScenario.length && !inChecks.length) fields[errors.find((e) => fields[e.path]).path].focus();
      }
    },
    clearError: clearAll,
    /** Whether there is a form to go back to (not for a scenario opened from a link). */
    setCanClose(yes) { closeBtn.hidden = !yes; },
    /** Whether grading is possible (a run is in flight: no). */
    setBusy(busy) { runBtn.disabled = busy; gradeBtn.disabled = busy; },
  };
}
