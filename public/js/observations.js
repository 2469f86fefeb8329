// Observations and checks: each claim, whether it held in this run, and a button that highlights its
// evidence events in the diagram and the table.

import { h, clear } from "./dom.js";

/**
 * A list of claims in `root`: items {key, ok, okText, failText, title, detail, meta, extra}, each with
 * `evidence` (seqs). `summary` heads the list, `empty` stands in for none. `attr` names the data
 * attribute carrying the key (data-observation, data-check). Returns { clear(), press(key) }.
 */
export function renderClaims(root, items, { summary, empty, attr, onHighlight }) {
  clear(root);
  if (items.length === 0) {
    root.append(h("p", { class: "muted" }, empty));
    return { clear() {}, press() {} };
  }
  root.append(h("p", { class: "obs-summary" }, summary));
  const ul = h("ul", { class: "observations" });
  let active = null;
  const buttons = new Map();
  const press = (key, on) => {
    active = on ? key : null;
    for (const [k, b] of buttons) b.setAttribute("aria-pressed", String(k === key && on));
    const item = items.find((it) => it.key === key);
    onHighlight(new Set(on && item ? item.evidence : []), key);
  };
  for (const it of items) {
    const evidence = (it.evidence || []).slice().sort((a, b) => a - b);
    it.evidence = evidence;
    const btn = h("button", {
      type: "button", class: "obs-button", "aria-pressed": "false", [`data-${attr}`]: it.key,
      title: evidence.length ? `Highlight events ${evidence.map((q) => "#" + q).join(", ")}` : "No evidence events",
    }, [
      h("span", { class: `obs-mark ${it.ok ? "holds" : "fails"}`, "aria-hidden": "true" }, it.ok ? "✓" : "✗"),
      h("span", { class: "obs-text" }, [
        h("span", { class: "visually-hidden" }, it.ok ? it.okText : it.failText),
        h("span", { class: "obs-claim" }, it.title),
        it.detail ? h("span", { class: "obs-detail" }, it.detail) : null,
        it.extra || null,
        h("span", { class: "obs-id" }, [...[].concat(it.meta), evidence.length ? ` · evidence ${evidence.map((q) => "#" + q).join(" ")}` : ""]),
      ]),
    ]);
    btn.addEventListener("click", () => press(it.key, active !== it.key));
    buttons.set(it.key, btn);
    ul.append(h("li", { class: it.ok ? "holds" : "fails" }, btn));
  }
  root.append(ul);
  return {
    clear() { active = null; buttons.forEach((b) => b.setAttribute("aria-pressed", "false")); },
    /** Press the claim `key` (as a click would), its evidence highlighted. */
    press(key) { if (buttons.has(key)) { press(key, true); buttons.get(key).scrollIntoView({ block: "nearest" }); } },
  };
}

export function renderObservations(root, trace, onHighlight) {
  const list = trace.observations || [];
  return renderClaims(root, list.map((o) => ({
    key: o.id, ok: o.holds, okText: "Holds: ", failText: "Does not hold: ",
    title: o.claim, detail: o.detail, meta: o.id, evidence: o.evidence,
  })), {
    summary: `${list.filter((o) => o.holds).length} of ${list.length} held in this run.`,
    empty: "This run made no observations.", attr: "observation", onHighlight,
  });
}

/** A run's checks (`trace.checks`, when the request had checks): passed or failed, points, evidence. */
export function renderChecks(root, trace, onHighlight) {
  const list = trace.checks || [];
  return renderClaims(root, list.map((c) => ({
    key: c.id, ok: c.passed, okText: "Passed: ", failText: "Failed: ",
    title: c.name || c.id,
    detail: c.message,
    extra: !c.passed && c.hint ? h("span", { class: "obs-detail check-hint" }, `Hint: ${c.hint}`) : null,
    meta: [h("span", { class: "check-points" }, `${c.points}/${c.max_points} ${c.max_points === 1 ? "point" : "points"}`), c.id !== c.name ? ` · ${c.id}` : ""],
    evidence: c.evidence,
  })), {
    summary: `${list.filter((c) => c.passed).length} of ${list.length} passed · score ${trace.score ?? 0} of ${trace.max_score ?? 0}.`,
    empty: "This run had no checks.", attr: "check", onHighlight,
  });
}
