// The gallery: experiments grouped by mechanism, a card (title, claim) per experiment.

import { h, clear } from "./dom.js";

const GROUPS = [
  { title: "Pipes", match: /^pipe/ },
  { title: "FIFOs", match: /^fifo/ },
  { title: "Shared memory", match: /^(shm|shared)/ },
  { title: "Semaphores", match: /^sem/ },
  { title: "Message queues", match: /^(mq|msg|message)/ },
  { title: "Signals", match: /^sig/ },
  { title: "Sockets", match: /^sock/ },
  { title: "Measurements", match: /^(bench|measure)/ },
  { title: "The sandbox", match: /^sandbox/ },
];

function groupOf(mechanism, id = "") {
  // Measurements are grouped by their id too ("bench.…"), whatever mechanism word they carry.
  if (/^bench\./.test(id)) return { order: GROUPS.findIndex((g) => g.title === "Measurements"), title: "Measurements" };
  const m = String(mechanism || "").toLowerCase();
  const i = GROUPS.findIndex((g) => g.match.test(m));
  return i >= 0 ? { order: i, title: GROUPS[i].title } : { order: GROUPS.length, title: mechanism || "Other" };
}

/** Render the catalog; `onPick(experiment)` when a card is chosen. Returns { setCurrent(id) }. */
export function renderGallery(root, experiments, onPick) {
  clear(root);
  const groups = new Map();
  for (const e of experiments) {
    const g = groupOf(e.mechanism, e.id);
    if (!groups.has(g.title)) groups.set(g.title, { ...g, items: [] });
    groups.get(g.title).items.push(e);
  }
  const cards = new Map();
  const sorted = [...groups.values()].sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
  for (const g of sorted) {
    const headingId = `group-${g.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    const list = h("ul", { class: "cards", "aria-labelledby": headingId });
    for (const e of g.items) {
      const card = h("button", { type: "button", class: "card", "data-experiment": e.id }, [
        h("span", { class: "card-title" }, e.title || e.id),
        h("span", { class: "card-claim" }, e.claim || ""),
        h("span", { class: "card-id" }, e.id),
      ]);
      card.addEventListener("click", () => onPick(e));
      cards.set(e.id, card);
      list.append(h("li", {}, card));
    }
    root.append(h("section", { class: "group", "data-mechanism": g.title }, [
      h("h3", { id: headingId }, [g.title, h("span", { class: "count" }, ` ${g.items.length}`)]), list,
    ]));
  }
  if (experiments.length === 0) root.append(h("p", { class: "muted" }, "The server lists no experiments."));
  return {
    setCurrent(id) {
      for (const [k, c] of cards) {
        if (k === id) c.setAttribute("aria-current", "true"); else c.removeAttribute("aria-current");
      }
    },
  };
}
