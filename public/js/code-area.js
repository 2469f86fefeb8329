// A JSON text area for the editors: line numbers in a gutter, every error marked inline at once (a
// backdrop behind the transparent textarea carries the <mark>s) and listed below with its line, each
// entry a button that puts the cursor on it.

import { h, clear } from "./dom.js";
import { lineCol } from "./json-locate.js";

/**
 * A labelled code area. `id` names the textarea; its error list is `${errorsId}`.
 * Returns { el, textarea, value, setValue(text), showErrors(items), clearErrors(), errorCount() } where
 * an item is { code, label, message: string | Node[], range: {start, end} | null }.
 */
export function createCodeArea({ id, errorsId = `${id}-errors`, label, hint, rows = 18, describedBy = [] }) {
  const hintId = `${id}-hint`;
  const textarea = h("textarea", { id, spellcheck: "false", autocomplete: "off", rows, wrap: "off",
    "aria-describedby": [hintId, errorsId, ...describedBy].join(" ") });
  const gutter = h("div", { class: "editor-gutter", "aria-hidden": "true" });
  const marks = h("div", { class: "editor-marks", "aria-hidden": "true" });
  const errors = h("div", { id: errorsId, class: "editor-error", role: "alert", hidden: true });
  const el = h("div", { class: "code-area" }, [
    h("label", { for: id, class: "editor-label" }, label),
    hint ? h("p", { id: hintId, class: "hint" }, hint) : null,
    h("div", { class: "editor-wrap" }, [gutter, h("div", { class: "editor-body" }, [marks, textarea])]),
    errors,
  ]);
  let ranges = [];      // the marked ranges, sorted, not overlapping
  let badLines = new Map();   // line → messages, for the gutter

  const sync = () => {
    marks.scrollTop = textarea.scrollTop;
    marks.scrollLeft = textarea.scrollLeft;
    gutter.scrollTop = textarea.scrollTop;
  };

  let painted = { n: -1, bad: null };
  const paintGutter = () => {
    const n = textarea.value.split("\n").length;
    // typing within a line changes nothing here: a long scenario's thousands of numbers stay put
    if (n === painted.n && badLines.size === 0 && painted.bad === 0) return;
    painted = { n, bad: badLines.size };
    clear(gutter);
    gutter.style.setProperty("--digits", String(String(n).length));
    for (let line = 1; line <= n; line++) {
      const bad = badLines.get(line);
      gutter.append(h("div", bad ? { class: "bad", title: bad.join("\n"), "data-line": line } : { "data-line": line }, String(line)));
    }
    gutter.append(h("div", {}, " "));   // room for the textarea's horizontal scrollbar
  };

  const paintMarks = () => {
    const t = textarea.value;
    clear(marks);
    let at = 0;
    for (const r of ranges) {
      marks.append(t.slice(at, r.start), h("mark", { "data-error": r.index }, t.slice(r.start, r.end) || " "));
      at = r.end;
    }
    marks.append(t.slice(at) + "\n");
    sync();
  };

  const paint = () => { paintGutter(); paintMarks(); };

  const select = (range) => {
    textarea.focus({ preventScroll: true });
    textarea.setSelectionRange(range.start, range.end);
    const { line } = lineCol(textarea.value, range.start);
    const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
    if ((line - 1) * lh < textarea.scrollTop || line * lh > textarea.scrollTop + textarea.clientHeight) {
      textarea.scrollTop = Math.max(0, (line - 4) * lh);
    }
    sync();
  };

  const clearErrors = () => {
    ranges = [];
    badLines = new Map();
    errors.hidden = true;
    clear(errors);
    textarea.removeAttribute("aria-invalid");
    paint();
  };

  textarea.addEventListener("scroll", sync);
  textarea.addEventListener("input", clearErrors);

  return {
    el, textarea,
    get value() { return textarea.value; },
    setValue(text) { textarea.value = text; clearErrors(); },
    clearErrors,
    errorCount() { return errors.hidden ? 0 : errors.querySelectorAll("li").length; },
    /** Mark and list every error at once (document order kept); the cursor goes to the first marked one. */
    showErrors(items, { focus = true } = {}) {
      const text = textarea.value;
      badLines = new Map();
      const placed = items.map((it, index) => {
        let range = it.range && { start: Math.max(0, Math.min(it.range.start, text.length)), end: Math.min(it.range.end, text.length) };
        // A path that is not in the text falls back to its parent: mark only the parent's first line.
        if (range && it.range.exact === false) {
          const eol = text.indexOf("\n", range.start);
          range.end = Math.min(range.end, eol < 0 ? text.length : eol);
        }
        const where = range ? lineCol(text, range.start) : null;
        if (where) badLines.set(where.line, [...(badLines.get(where.line) || []), `${it.label ? it.label + ": " : ""}${typeof it.message === "string" ? it.message : it.code || "error"}`]);
        return { ...it, index, range, where };
      });
      ranges = [];
      let end = 0;
      for (const p of placed.filter((x) => x.range).sort((a, b) => a.range.start - b.range.start)) {
        const start = Math.max(p.range.start, end);
        const stop = Math.max(p.range.end, p.range.start + 1);
        if (stop <= start) continue;
        ranges.push({ start, end: Math.min(stop, text.length), index: p.index });
        end = stop;
      }
      clear(errors);
      const list = h("ul", { class: "error-list" });
      for (const p of placed) {
        const go = p.range ? h("button", { type: "button", class: "err-line", "data-error": p.index },
          `line ${p.where.line}, col ${p.where.col}`) : null;
        go?.addEventListener("click", () => select(p.range));
        list.append(h("li", { "data-error": p.index }, [
          go, go ? " " : null, h("strong", {}, `${p.code || "Error"}: `),
          p.label ? h("span", { class: "err-path" }, `${p.label}: `) : null,
          ...[].concat(p.message),
          p.note ? h("span", { class: "where" }, ` (${p.note})`) : null,
        ]));
      }
      if (items.length > 1) errors.append(h("p", { class: "error-count" }, `${items.length} errors:`));
      errors.append(list);
      errors.hidden = items.length === 0;
      if (items.length) textarea.setAttribute("aria-invalid", "true");
      paint();
      const first = placed.find((p) => p.range);
      if (focus && first) select(first.range);
    },
  };
}
