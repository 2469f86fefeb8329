// The C editor: the gallery of example C programs (GET /api/v1/programs), one textarea with line
// numbers per program (tabs when an example has several, e.g. a server and a client), Run, and the
// compiler's diagnostics (run.diagnostics) marked on their lines; each program's arguments and standard
// input (program-io.js); the server's validation errors (`programs[1].args[0]`) beside their fields.
// The trace views are the page's own.

import { h, clear } from "./dom.js";
import * as api from "./api.js";
import { programIo } from "./program-io.js";

const NEW_PROGRAM = `#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("hello from %d\\n", getpid());
    return 0;
}
`;

/** The gallery of C examples as cards; `onPick(entry)` when one is chosen. Returns { setCurrent(id) }. */
export function renderProgramGallery(root, entries, onPick) {
  clear(root);
  const cards = new Map();
  const list = h("ul", { class: "cards", "aria-label": "Example C programs" });
  for (const e of entries) {
    const card = h("button", { type: "button", class: "c-card", "data-program": e.id, title: e.claim || "" }, [
      h("span", { class: "card-title" }, e.title || e.id),
      h("span", { class: "card-id" }, `${e.programs.map((p) => `${p.name}.c`).join(" + ")} · ${e.mechanism}`),
    ]);
    card.addEventListener("click", () => onPick(e));
    cards.set(e.id, card);
    list.append(h("li", {}, card));
  }
  root.append(list);
  if (!entries.length) root.append(h("p", { class: "muted" }, "The server lists no example programs."));
  return {
    setCurrent(id) {
      for (const [k, c] of cards) { if (k === id) c.setAttribute("aria-current", "true"); else c.removeAttribute("aria-current"); }
    },
  };
}

/** The error line under a field (hidden while empty); `set(control, message)` shows or clears it. */
function fieldError(id) {
  const el = h("p", { id, class: "field-error", role: "alert", hidden: true });
  return {
    el,
    set(control, message) {
      el.textContent = message || "";
      el.hidden = !message;
      control?.toggleAttribute("aria-invalid", Boolean(message));
    },
  };
}

/** One program's editor: a name, its source in a textarea beside line numbers (with marks behind it),
 *  its arguments and standard input. */
function programPane(index, program, limits) {
  const id = `c-source-${index}`;
  const gutter = h("div", { class: "c-gutter", "aria-hidden": "true" });
  const marks = h("div", { class: "c-marks", "aria-hidden": "true" });
  const textarea = h("textarea", { id, class: "c-source", spellcheck: "false", autocomplete: "off", autocapitalize: "off",
    wrap: "off", rows: 20, "aria-describedby": `c-diagnostics ${id}-error` });
  const name = h("input", { id: `c-name-${index}`, class: "c-name", type: "text", value: program.name, required: true,
    pattern: "[a-z][a-z0-9_]{0,15}", maxlength: 16, autocomplete: "off", spellcheck: "false", "aria-describedby": `c-name-${index}-error` });
  const nameError = fieldError(`c-name-${index}-error`), sourceError = fieldError(`${id}-error`);
  const size = h("span", { id: `${id}-size`, class: "muted small" });
  const showSize = () => {
    const n = new TextEncoder().encode(textarea.value).length, max = limits()?.sourceBytes;
    size.textContent = `${n.toLocaleString("en")}${max ? ` of at most ${max.toLocaleString("en")}` : ""} bytes`;
    size.classList.toggle("c-over", Boolean(max) && n > max);
  };
  const io = programIo(index, program, { limits, nameOf: () => name.value.trim() });
  const pane = h("div", { class: "c-pane", role: "tabpanel", id: `c-pane-${index}`, "aria-labelledby": `c-tab-${index}` }, [
    h("div", { class: "c-name-row" }, [h("label", { for: name.id }, "Program name"), name]), nameError.el,
    h("div", { class: "c-label-row" }, [h("label", { for: id, class: "editor-label" }, "C source"), size]),
    h("div", { class: "c-code" }, [gutter, h("div", { class: "c-text" }, [marks, textarea])]), sourceError.el,
    io.el,
  ]);
  name.addEventListener("input", () => { nameError.set(name, ""); io.refresh(); });
  textarea.value = program.source;
  let lines = new Map();   // line → {severity, messages}

  const paint = () => {
    const text = textarea.value.split("\n");
    clear(gutter);
    clear(marks);
    text.forEach((line, i) => {
      const d = lines.get(i + 1);
      gutter.append(h("div", d ? { class: `c-ln c-${d.severity}`, title: d.messages.join("\n") } : { class: "c-ln" }, String(i + 1)));
      marks.append(h("div", { class: d ? `c-mline c-${d.severity}` : "c-mline" }, line || " "));
    });
    sync();
  };
  const sync = () => {
    gutter.scrollTop = textarea.scrollTop;
    marks.scrollTop = textarea.scrollTop;
    marks.scrollLeft = textarea.scrollLeft;
  };
  textarea.addEventListener("scroll", sync);
  textarea.addEventListener("input", () => { sourceError.set(textarea, ""); paint(); showSize(); });
  paint();
  showSize();

  return {
    pane, textarea, name, io,
    /** Say the sizes again against the limits (once the server's are known). */
    refresh() { showSize(); io.refresh(); },
    /** The program as edited, to build the editor again (its args as typed, even when they cannot be split). */
    draft: () => ({ name: name.value.trim(), source: textarea.value, argsText: io.argsText(), stdin: io.stdin() }),
    /** The program to send ({name, language, source, args, stdin}), or null when its args cannot be split. */
    read() {
      const r = io.read();
      return r.error ? null : { name: name.value.trim(), language: "c", source: textarea.value, args: r.args, stdin: r.stdin };
    },
    /** Show the server's `message` beside the field `rest` of this program names ("name", "args[0]", …). */
    showError(rest, message) {
      if (rest === "name") { nameError.set(name, message); return "name"; }
      if (rest === "source" || rest === "language") { sourceError.set(textarea, message); return "source"; }
      return io.showError(rest, message);
    },
    clearErrors() { nameError.set(name, ""); sourceError.set(textarea, ""); io.clearErrors(); },
    focus(field) { if (field === "name") name.focus(); else if (field === "source") textarea.focus(); else io.focus(field); },
    /** Mark these diagnostics (of this program) on their lines; [] clears. */
    mark(diagnostics) {
      lines = new Map();
      for (const d of diagnostics) {
        if (!d.line) continue;
        const cur = lines.get(d.line);
        const severity = cur?.severity === "error" || d.severity === "error" ? "error" : (cur?.severity || d.severity);
        lines.set(d.line, { severity, messages: [...(cur?.messages || []), `${d.severity}: ${d.message}`] });
      }
      textarea.toggleAttribute("aria-invalid", [...lines.values()].some((l) => l.severity === "error"));
      paint();
    },
    /** Put the caret at the start of `line` and scroll it into view. */
    goTo(line, column = 1) {
      const text = textarea.value.split("\n");
      let pos = 0;
      for (let i = 0; i < Math.min(line - 1, text.length); i++) pos += text[i].length + 1;
      pos += Math.max(0, Math.min(column - 1, (text[line - 1] || "").length));
      textarea.focus({ preventScroll: true });
      textarea.setSelectionRange(pos, pos);
      const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (line - 4) * lh);
      sync();
    },
  };
}

/**
 * The editor in `root`. `onRun(body)` gets `{programs: [...]}` (plus `limits` when a time limit is given);
 * `onInvalid(message)` when the editor itself refuses to send (arguments that cannot be split).
 * Returns { open(entry), load(programs, wallMs), showErrors(errors), showDiagnostics(list),
 * clearDiagnostics(), summary() }.
 */
export function createCEditor(root, { onRun, onInvalid = () => {} }) {
  const tabs = h("div", { class: "c-tabs", role: "tablist", "aria-label": "Programs of this run" });
  const panes = h("div", { class: "c-panes" });
  const diagnostics = h("div", { id: "c-diagnostics", class: "c-diagnostics", role: "alert", hidden: true });
  const wall = h("input", { id: "c-wall_ms", type: "number", min: 1, step: 1, inputmode: "numeric", placeholder: "default",
    "aria-describedby": "c-form-error" });
  const runBtn = h("button", { type: "submit", class: "primary", id: "c-run" }, "Compile and run");
  const addBtn = h("button", { type: "button", id: "c-add" }, "Add a program");
  const removeBtn = h("button", { type: "button", id: "c-remove" }, "Remove this program");
  const count = h("span", { id: "c-count", class: "muted small" });
  const formError = fieldError("c-form-error");
  const form = h("form", { class: "c-form", novalidate: true }, [
    h("p", { class: "hint", id: "c-hint" },
      "Each program is compiled with gcc and started in the run's sandbox, all at once (a server and a client share "
      + "its IPC and network); every process it forks is traced. Its output is shown with the trace."),
    tabs, panes, diagnostics,
    h("div", { class: "editor-actions" }, [h("label", { for: "c-wall_ms" }, "time limit (ms)"), wall, runBtn, addBtn, removeBtn, count]),
    formError.el,
  ]);
  clear(root).append(form);

  let editors = [];
  let current = 0;
  let last = [];   // the diagnostics shown
  let limits = null;   // the server's bounds (api.programLimits), once read
  let asked = false;

  const showCount = () => {
    const max = limits?.programs;
    count.textContent = `${editors.length}${max ? ` of at most ${max}` : ""} program${editors.length === 1 && !max ? "" : "s"}`;
    addBtn.disabled = Boolean(max) && editors.length >= max;
  };
  /** The bounds come from the server's openapi.yaml, read the first time the editor opens (not on load). */
  const askLimits = () => {
    if (asked) return;
    asked = true;
    api.programLimits().then((l) => { limits = l; editors.forEach((e) => e.refresh()); showCount(); });
  };

  const select = (i, { focus = false } = {}) => {
    current = Math.max(0, Math.min(i, editors.length - 1));
    editors.forEach((e, k) => {
      e.pane.hidden = k !== current;
      const tab = tabs.children[k];
      tab.setAttribute("aria-selected", String(k === current));
      tab.tabIndex = k === current ? 0 : -1;
    });
    removeBtn.hidden = editors.length < 2;
    tabs.hidden = editors.length < 2 && !editors.some((e) => e.pane.dataset.errors);
    if (focus) tabs.children[current]?.focus();
  };
  const tabLabel = (i) => {
    const e = editors[i];
    const n = Number(e.pane.dataset.errors || 0);
    return [`${e.name.value || "program"}.c`, n ? h("span", { class: "c-badge" }, ` ${n} error${n === 1 ? "" : "s"}`) : ""];
  };
  const relabel = () => editors.forEach((_, i) => clear(tabs.children[i]).append(...tabLabel(i)));

  const build = (programs) => {
    clear(tabs);
    clear(panes);
    editors = programs.map((p, i) => {
      const ed = programPane(i, p, () => limits);
      ed.name.addEventListener("input", relabel);
      const tab = h("button", { type: "button", role: "tab", id: `c-tab-${i}`, "aria-controls": `c-pane-${i}`, class: "c-tab" });
      tab.addEventListener("click", () => select(i));
      tab.addEventListener("keydown", (ev) => {
        const step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
        if (step) { ev.preventDefault(); select((current + step + editors.length) % editors.length, { focus: true }); }
      });
      tabs.append(tab);
      panes.append(ed.pane);
      return ed;
    });
    relabel();
    select(0);
    showCount();
  };

  const clearDiagnostics = () => {
    last = [];
    diagnostics.hidden = true;
    clear(diagnostics);
    editors.forEach((e) => { delete e.pane.dataset.errors; e.mark([]); });
    relabel();
  };
  const clearErrors = () => { editors.forEach((e) => e.clearErrors()); formError.set(wall, ""); };

  addBtn.addEventListener("click", () => {
    const programs = editors.map((e) => e.draft());
    let n = programs.length + 1;
    while (programs.some((p) => p.name === `program${n}`)) n++;
    build([...programs, { name: `program${n}`, source: NEW_PROGRAM, args: [], stdin: "" }]);
    select(editors.length - 1);
    editors[current].textarea.focus();
  });
  removeBtn.addEventListener("click", () => {
    if (editors.length < 2) return;
    build(editors.map((e) => e.draft()).filter((_, i) => i !== current));
    addBtn.focus();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors();
    const programs = editors.map((e) => e.read());
    const bad = programs.findIndex((p) => p === null);
    if (bad >= 0) {
      select(bad);
      editors[bad].focus("args");
      onInvalid(`The arguments of ${editors[bad].name.value || "the program"}.c cannot be split into words (see the marked field).`);
      return;
    }
    const w = wall.value.trim();
    onRun({ programs, ...(w ? { limits: { wall_ms: Number(w) } } : {}) });
  });

  const placeOne = ({ path, message }) => {
    const m = /^programs\[(\d+)\]\.(.+)$/.exec(path || "");
    if (m && editors[Number(m[1])]) {
      const k = Number(m[1]);
      const field = editors[k].showError(m[2], message);
      return field ? { k, field } : null;
    }
    if (path === "limits.wall_ms") { formError.set(wall, message); return { field: "wall" }; }
    if (path === "programs") { formError.set(null, message); return { field: "programs" }; }
    return null;
  };

  return {
    /** Show a gallery entry's programs (or a blank program when `entry` is null). */
    open(entry) {
      askLimits();
      build(entry ? entry.programs : [{ name: "main", source: NEW_PROGRAM, args: [], stdin: "" }]);
      clearDiagnostics();
      clearErrors();
      wall.value = "";
      editors[0].textarea.focus({ preventScroll: true });
    },
    /** Show `programs` as a request sent them (a link's recipe), with its time limit. */
    load(programs, wallMs) {
      askLimits();
      build(programs);
      clearDiagnostics();
      clearErrors();
      wall.value = wallMs ? String(wallMs) : "";
    },
    /**
     * Show the server's validation errors (`error.errors`) beside the fields their paths name
     * (`programs[1].args[0]`, `programs[0].stdin`, `limits.wall_ms`…); the first one's program is shown
     * and its field focused. Returns whether any error found its field.
     */
    showErrors(errors) {
      clearErrors();
      const placed = (errors || []).map(placeOne).filter(Boolean);
      const first = placed[0];
      if (!first) return false;
      if (first.k !== undefined) { select(first.k); editors[first.k].focus(first.field); } else if (first.field === "wall") wall.focus();
      return true;
    },
    /** Mark the compiler's messages on their programs' lines and list them; the first error gets the caret. */
    showDiagnostics(list) {
      clearDiagnostics();
      last = list || [];
      if (!last.length) return;
      const byIndex = new Map();
      for (const d of last) {
        const i = editors.findIndex((e) => e.name.value.trim() === d.program);
        const k = i >= 0 ? i : 0;
        if (!byIndex.has(k)) byIndex.set(k, []);
        byIndex.get(k).push(d);
      }
      for (const [k, ds] of byIndex) {
        editors[k].mark(ds);
        const errors = ds.filter((d) => d.severity === "error").length;
        if (errors) editors[k].pane.dataset.errors = String(errors);
      }
      relabel();
      const items = last.map((d) => {
        const k = Math.max(0, editors.findIndex((e) => e.name.value.trim() === d.program));
        const where = `${d.program}.c${d.line ? `:${d.line}${d.column ? `:${d.column}` : ""}` : ""}`;
        const b = h("button", { type: "button", class: `c-diag c-${d.severity}` }, [
          h("span", { class: "c-where" }, where), " ", h("strong", {}, `${d.severity}: `), d.message]);
        b.addEventListener("click", () => { select(k); if (d.line) editors[k].goTo(d.line, d.column || 1); });
        return h("li", {}, b);
      });
      diagnostics.append(h("p", {}, h("strong", {}, this.summary())), h("ul", {}, items));
      diagnostics.hidden = false;
      const first = last.find((d) => d.severity === "error" && d.line) || last.find((d) => d.line);
      if (first) {
        const k = Math.max(0, editors.findIndex((e) => e.name.value.trim() === first.program));
        select(k);
        editors[k].goTo(first.line, first.column || 1);
      }
    },
    clearDiagnostics,
    /** "2 errors, 1 warning from the compiler". */
    summary() {
      const errors = last.filter((d) => d.severity === "error").length;
      const warnings = last.filter((d) => d.severity === "warning").length;
      const parts = [];
      if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
      if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
      return parts.length ? `${parts.join(", ")} from the compiler (marked on their lines)` : "The compiler said nothing.";
    },
  };
}
