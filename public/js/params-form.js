// The parameter form, generated from an experiment's `parameters`, plus the run's time limit.
// Server errors whose path names a field (params.read_sizes[2], limits.wall_ms) appear beside it.

import { h, clear } from "./dom.js";
import { escapeBytes } from "./format.js";

export const DEFAULT_WALL_MS = 2000;

function fieldId(name) { return `param-${name}`; }

function defaultText(p) {
  if (p.default === null || p.default === undefined) return "optional";
  if (Array.isArray(p.default)) return p.default.join(", ");
  if (typeof p.default === "string") return `"${escapeBytes(new TextEncoder().encode(p.default))}"`;
  return String(p.default);
}

function hintText(p) {
  const bits = [];
  if (p.type === "boolean") bits.push(`default: ${p.default ? "on" : "off"}`);
  else if (!(p.type === "string_array" && Array.isArray(p.choices) && p.choices.length)) bits.push(`default: ${defaultText(p)}`);
  if (p.minimum !== undefined && p.minimum !== null && p.maximum !== undefined && p.maximum !== null) {
    bits.push(`${/_array$/.test(p.type) ? "each " : ""}${p.minimum}…${p.maximum}`);
  } else if (p.minimum !== undefined && p.minimum !== null) bits.push(`≥ ${p.minimum}`);
  else if (p.maximum !== undefined && p.maximum !== null) bits.push(`≤ ${p.maximum}`);
  if ((p.type === "string" || p.type === "string_array") && p.max_length) bits.push(`at most ${p.max_length} characters`);
  const listed = p.type === "string_array" && Array.isArray(p.choices) && p.choices.length;
  if (/_array$/.test(p.type) && (p.min_items || p.max_items)) bits.push(`${p.min_items ?? 0}–${p.max_items ?? "∞"} items${listed ? "" : ", comma-separated"}`);
  return bits.join(" · ");
}

function input(p, initial) {
  const id = fieldId(p.name);
  const common = { id, name: p.name, "aria-describedby": `${id}-hint ${id}-error`, "data-type": p.type };
  if (p.type === "boolean") {
    const el = h("input", { ...common, type: "checkbox" });
    el.checked = initial !== undefined ? initial === "true" || initial === true : Boolean(p.default);
    return el;
  }
  if (p.type === "integer" || p.type === "number") {
    return h("input", { ...common, type: "number", step: p.type === "integer" ? 1 : "any", inputmode: p.type === "integer" ? "numeric" : "decimal", min: p.minimum ?? null, max: p.maximum ?? null,
      value: initial ?? (p.default ?? ""), placeholder: p.default ?? "" });
  }
  const choices = p.enum || p.choices || p.values;
  if (p.type === "string_array" && Array.isArray(choices) && choices.length) {
    // a list drawn from fixed words: one checkbox per word, checked ones sent in the catalog's order
    const picked = new Set(initial === undefined ? (p.default || []) : String(initial).split(",").map((x) => x.trim()));
    const group = h("div", { ...common, role: "group", class: "choices", tabindex: "-1", "aria-labelledby": `${id}-label` },
      choices.map((c) => {
        const box = h("input", { type: "checkbox", name: `${p.name}-choice`, value: String(c) });
        box.checked = picked.has(String(c));
        return h("label", { class: "check" }, [box, h("span", {}, String(c))]);
      }));
    return group;
  }
  if (Array.isArray(choices) && choices.length) {
    const sel = h("select", common, choices.map((c) => h("option", { value: String(c) }, String(c))));
    sel.value = String(initial ?? p.default ?? choices[0]);
    return sel;
  }
  const value = initial ?? (Array.isArray(p.default) ? p.default.join(", ") : p.default ?? "");
  return h("input", { ...common, type: "text", value, spellcheck: "false", autocomplete: "off",
    inputmode: p.type === "integer_array" ? "numeric" : null, placeholder: defaultText(p) });
}

function parseInteger(text) {
  const t = text.trim();
  if (!/^[-+]?\d+$/.test(t)) return null;
  return Number(t);
}

/** Parse one field; returns {value} (undefined = leave out, server default) or {error}. */
function readField(p, el) {
  if (p.type === "boolean") return { value: el.checked };
  if (el.classList.contains("choices")) {
    const words = [...el.querySelectorAll("input[type=checkbox]")].filter((b) => b.checked).map((b) => b.value);
    return words.length ? { value: words } : { error: "pick at least one" };
  }
  const text = el.value.trim();
  if (text === "") return { value: undefined };
  const choices = p.enum || p.choices || p.values;
  if (Array.isArray(choices) && choices.length) {
    const hit = choices.find((c) => String(c) === el.value);
    return { value: hit === undefined ? el.value : hit };
  }
  if (p.type === "integer") {
    const n = parseInteger(text);
    return n === null ? { error: "must be a whole number" } : { value: n };
  }
  if (p.type === "number") {
    const n = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : null;
    return n === null ? { error: "must be a number" } : { value: n };
  }
  if (p.type === "string_array") return { value: text.split(",").map((x) => x.trim()).filter(Boolean) };
  if (p.type !== "integer_array") return { value: el.value };   // "string", and any type this page does not know: as typed
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const nums = parts.map(parseInteger);
  const bad = nums.findIndex((n) => n === null);
  if (bad >= 0) return { error: `item ${bad + 1} ("${parts[bad]}") is not a whole number` };
  return { value: nums };
}

/**
 * Build the form for `experiment` into `root`. `initial` maps names to strings (from a shared URL).
 * Returns { read(), showError(path, message) → true if a field took it, clearErrors(), values() }.
 */
export function renderForm(root, experiment, initial = {}, initialWallMs) {
  clear(root);
  const fields = new Map();
  const params = experiment.parameters || [];
  const add = (key, labelText, control, hint, type) => {
    const id = control.id;
    const error = h("p", { id: `${id}-error`, class: "field-error", role: "alert", hidden: true });
    const wrap = h("div", { class: `field field-${type}`, "data-field": key }, type === "boolean"
      ? [h("label", { class: "check" }, [control, h("span", {}, labelText)]), h("p", { id: `${id}-hint`, class: "hint" }, hint), error]
      : [h("label", { for: id, id: `${id}-label` }, labelText), control, h("p", { id: `${id}-hint`, class: "hint" }, hint), error]);
    fields.set(key, { control, error, wrap });
    root.append(wrap);
  };
  for (const p of params) {
    add(`params.${p.name}`, p.name.replace(/_/g, " "), input(p, initial[p.name]),
      [p.description ? h("span", { class: "desc" }, p.description + " ") : null, h("span", { class: "bounds" }, hintText(p))], p.type);
  }
  if (params.length === 0) root.append(h("p", { class: "muted" }, "This experiment has no parameters."));
  const wall = h("input", { id: "limit-wall_ms", name: "wall_ms", type: "number", min: 1, step: 1, inputmode: "numeric",
    value: initialWallMs ?? experiment.default_wall_ms ?? DEFAULT_WALL_MS, "aria-describedby": "limit-wall_ms-hint limit-wall_ms-error" });
  add("limits.wall_ms", "time limit (ms)", wall, "Wall-clock limit of the run; the sandbox is killed after it.", "limit");

  const api = {
    clearErrors() {
      for (const f of fields.values()) {
        f.error.hidden = true;
        f.error.textContent = "";
        f.control.removeAttribute("aria-invalid");
        f.wrap.classList.remove("invalid");
      }
    },
    /** Show `message` beside the field `path` names (params.x, params.x[2], limits.wall_ms); false if none. */
    showError(path, message) {
      if (!path) return false;
      const m = /^((?:params|limits)\.[a-z0-9_]+)(?:\[(\d+)\])?/i.exec(path);
      const f = m && fields.get(m[1]);
      if (!f) return false;
      f.error.textContent = m[2] !== undefined ? `Item ${Number(m[2]) + 1}: ${message}` : message;
      f.error.hidden = false;
      f.control.setAttribute("aria-invalid", "true");
      f.wrap.classList.add("invalid");
      return true;
    },
    /** {params, limits} to send, or null when a field could not be parsed (its error is shown). */
    read() {
      api.clearErrors();
      const out = {};
      let ok = true;
      for (const p of params) {
        const r = readField(p, fields.get(`params.${p.name}`).control);
        if (r.error) { ok = false; api.showError(`params.${p.name}`, r.error); } else if (r.value !== undefined) out[p.name] = r.value;
      }
      const w = parseInteger(wall.value || "");
      if (wall.value.trim() !== "" && w === null) { ok = false; api.showError("limits.wall_ms", "must be a whole number"); }
      return ok ? { params: out, limits: w === null ? undefined : { wall_ms: w } } : null;
    },
    focusFirstError() {
      const f = [...fields.values()].find((x) => !x.error.hidden);
      if (f) f.control.focus();
    },
  };
  return api;
}
