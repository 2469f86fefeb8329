// Observations: each claim, whether it held in this run, and a button that highlights its evidence.

import { h, clear } from "./dom.js";

export function renderObservations(root, trace, onHighlight) {
  clear(root);
  const list = trace.observations || [];
  if (list.length === 0) {
    root.append(h("p", { class: "muted" }, "This run made no observations."));
    return { clear() {} };
  }
  const held = list.filter((o) => o.holds).length;
  root.append(h("p", { class: "obs-summary" }, `${held} of ${list.length} held in this run.`));
  const ul = h("ul", { class: "observations" });
  let active = null;
  const buttons = [];
  for (const o of list) {
    const evidence = (o.evidence || []).slice().sort((a, b) => a - b);
    const btn = h("button", {
      type: "button", class: "obs-button", "aria-pressed": "false", "data-observation": o.id,
      title: evidence.length ? `Highlight events ${evidence.map((q) => "#" + q).join(", ")}` : "No evidence events",
    }, [
      h("span", { class: `obs-mark ${o.holds ? "holds" : "fails"}`, "aria-hidden": "true" }, o.holds ? "✓" : "✗"),
      h("span", { class: "obs-text" }, [
        h("span", { class: "visually-hidden" }, o.holds ? "Holds: " : "Does not hold: "),
        h("span", { class: "obs-claim" }, o.claim),
        o.detail ? h("span", { class: "obs-detail" }, o.detail) : null,
        h("span", { class: "obs-id" }, [o.id, evidence.length ? ` · evidence ${evidence.map((q) => "#" + q).join(" ")}` : ""]),
      ]),
    ]);
    btn.addEventListener("click", () => {
      const on = active !== o.id;
      active = on ? o.id : null;
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b === btn && on)));
      onHighlight(new Set(on ? evidence : []));
    });
    buttons.push(btn);
    ul.append(h("li", { class: o.holds ? "holds" : "fails" }, btn));
  }
  root.append(ul);
  return {
    clear() { active = null; buttons.forEach((b) => b.setAttribute("aria-pressed", "false")); },
  };
}
