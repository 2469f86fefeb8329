// The gallery: a "Start here" path for a first lab, then every experiment grouped by mechanism in a
// compact list (title and id; the claim shows when a search matched it), filtered by the search box
// over ids, titles and claims.

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

/** The first lab, in order: each one builds on the one before. */
export const START_HERE = ["pipe.hello", "pipe.byte_stream", "pipe.eof", "pipe.capacity", "fifo.rendezvous",
  "signal.handshake", "shm.race", "sem.mutex", "mq.posix", "socket.tcp"];

const norm = (t) => String(t || "").toLowerCase();

/** Render the catalog; `onPick(experiment)` when a card is chosen. Returns { setCurrent(id), filter(q) }. */
export function renderGallery(root, experiments, onPick) {
  clear(root);
  const byId = new Map(experiments.map((e) => [e.id, e]));
  const path = START_HERE.filter((id) => byId.has(id));
  const steps = new Map();
  if (path.length) {
    const ol = h("ol", { class: "path", "aria-labelledby": "start-here" });
    for (const id of path) {
      const e = byId.get(id);
      const b = h("button", { type: "button", class: "path-step", "data-experiment": id }, [
        h("span", { class: "card-title" }, e.title || id), h("span", { class: "card-id" }, id)]);
      b.addEventListener("click", () => onPick(e));
      steps.set(id, b);
      ol.append(h("li", {}, b));
    }
    root.append(h("section", { class: "group start-here" }, [
      h("h3", { id: "start-here" }, ["Start here", h("span", { class: "count" }, " · a first lab, in order")]), ol]));
  }
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
      const card = h("button", { type: "button", class: "card", "data-experiment": e.id, title: e.claim || "" }, [
        h("span", { class: "card-title" }, e.title || e.id),
        h("span", { class: "card-claim" }, e.claim || ""),
        h("span", { class: "card-id" }, e.id),
      ]);
      card.addEventListener("click", () => onPick(e));
      cards.set(e.id, card);
      list.append(h("li", {}, card));
    }
    root.append(h("section", { class: "group mech", "data-mechanism": g.title }, [
      h("h3", { id: headingId }, [g.title, h("span", { class: "count" }, ` ${g.items.length}`)]), list,
    ]));
  }
  if (experiments.length === 0) root.append(h("p", { class: "muted" }, "The server lists no experiments."));
  const none = h("p", { class: "muted", id: "no-match", hidden: true }, "No experiment matches.");
  root.append(none);
  return {
    setCurrent(id) {
      for (const [k, c] of [...cards, ...steps]) {
        if (k === id) c.setAttribute("aria-current", "true"); else c.removeAttribute("aria-current");
      }
    },
    /** Show only the experiments whose id, title, claim or mechanism has every word of `query`. */
    filter(query) {
      const words = norm(query).split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const [id, card] of cards) {
        const e = byId.get(id);
        const hay = norm(`${e.id} ${e.title} ${e.claim} ${e.mechanism}`);
        const ok = words.every((w) => hay.includes(w));
        card.parentElement.hidden = !ok;
        if (ok) shown++;
      }
      root.querySelectorAll(".group.mech").forEach((g) => { g.hidden = !g.querySelector("li:not([hidden])"); });
      const start = root.querySelector(".start-here");
      if (start) start.hidden = words.length > 0;
      root.classList.toggle("searching", words.length > 0);
      none.hidden = shown > 0;
      return shown;
    },
  };
}
