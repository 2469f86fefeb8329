// The event table: every event as a row, filterable by process and by call.
// Rows are one tab stop (arrow keys move); hovering or focusing a row reports the event.

import { h, clear, scrollWithin } from "./dom.js";
import { signature, resultText, duration, channelText, stuck } from "./format.js";

function options(select, label, values) {
  clear(select);
  select.append(h("option", { value: "" }, label));
  for (const v of values) select.append(h("option", { value: v.value }, v.text));
}

export function renderTable(root, model, on) {
  clear(root);
  const procSel = h("select", { id: "filter-process", name: "process" });
  const callSel = h("select", { id: "filter-call", name: "call" });
  options(procSel, "All processes", model.processes.map((p) => ({ value: p.name, text: `${p.name} (pid ${p.pid ?? "?"})` })));
  options(callSel, "All calls", model.calls.map((c) => ({ value: c, text: c })));
  const count = h("span", { class: "filter-count", "aria-live": "polite" });
  const filters = h("div", { class: "filters" }, [
    h("label", { for: "filter-process" }, "Process"), procSel,
    h("label", { for: "filter-call" }, "Call"), callSel, count,
  ]);

  const tbody = h("tbody");
  for (const ev of model.events) {
    const p = model.processes[model.processIndex.get(ev.process)];
    const waited = model.waited.has(ev.seq);
    const blocked = stuck(ev) ? "never returned" : ev.blocked_ns > 0 ? duration(ev.blocked_ns) : "";
    tbody.append(h("tr", {
      "data-seq": ev.seq, "data-process": ev.process, "data-call": ev.call, tabindex: -1,
      class: [ev.errno ? "failed" : "", stuck(ev) ? "never-returned" : ""].join(" ").trim() || null,
    }, [
      h("td", { class: "num" }, String(ev.seq)),
      h("td", { class: "num", "data-label": "ms" }, (ev.t_ns / 1e6).toFixed(3)),
      h("td", {}, [h("span", { class: `swatch p${p.index % 8}`, "aria-hidden": "true" }), `${ev.process} (${ev.pid ?? p.pid ?? "?"})`]),
      h("td", { class: "code" }, signature(ev, { withResult: false })),
      h("td", { "data-label": "channel" }, channelText(ev) || ""),
      h("td", { class: "code", "data-label": "=" }, ev.errno ? `-1` : resultText(ev)),
      h("td", { class: "errno", "data-label": "errno" }, ev.errno || ""),
      h("td", { class: waited ? "blocked-cell" : "muted", "data-label": "blocked", title: blocked && !waited ? "time in the call; nothing else ran meanwhile" : null }, blocked),
    ]));
  }
  const table = h("table", { class: "events-table" }, [
    h("caption", { class: "visually-hidden" }, "Events of the run, in order"),
    h("thead", {}, h("tr", {}, ["#", "ms", "process (pid)", "call", "channel", "result", "errno", "blocked"].map((c) => h("th", { scope: "col" }, c)))),
    tbody,
  ]);
  const scroller = h("div", { class: "table-scroll" }, table);
  root.append(filters, scroller);

  const rows = () => [...tbody.rows];
  const visible = () => rows().filter((r) => !r.hidden);
  const applyFilters = () => {
    for (const r of rows()) {
      r.hidden = (procSel.value && r.dataset.process !== procSel.value) || (callSel.value && r.dataset.call !== callSel.value);
    }
    const v = visible();
    rows().forEach((r) => r.setAttribute("tabindex", "-1"));
    if (v[0]) v[0].setAttribute("tabindex", "0");
    count.textContent = `${v.length} of ${model.events.length} events`;
  };
  procSel.addEventListener("change", applyFilters);
  callSel.addEventListener("change", applyFilters);
  applyFilters();

  const rowOf = (t) => t.closest && t.closest("tr[data-seq]");
  tbody.addEventListener("pointerover", (e) => { const r = rowOf(e.target); if (r) on.hover(Number(r.dataset.seq), r); });
  tbody.addEventListener("pointerout", (e) => { if (rowOf(e.target)) on.hover(null); });
  tbody.addEventListener("focusin", (e) => { const r = rowOf(e.target); if (r) on.hover(Number(r.dataset.seq), r); });
  tbody.addEventListener("focusout", () => on.hover(null));
  tbody.addEventListener("click", (e) => { const r = rowOf(e.target); if (r) on.select(Number(r.dataset.seq)); });
  tbody.addEventListener("keydown", (e) => {
    const r = rowOf(e.target);
    if (!r) return;
    const v = visible(), i = v.indexOf(r);
    const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: v.length - 1 }[e.key];
    if (next !== undefined && v.length) {
      e.preventDefault();
      const target = v[Math.max(0, Math.min(v.length - 1, next))];
      r.setAttribute("tabindex", "-1");
      target.setAttribute("tabindex", "0");
      target.focus({ preventScroll: true });
      scrollWithin(scroller, target);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      on.select(Number(r.dataset.seq));
    } else if (e.key === "Escape") on.hover(null);
  });

  const mark = (cls, seqs) => rows().forEach((r) => r.classList.toggle(cls, seqs.has(Number(r.dataset.seq))));
  return {
    setHighlight(seqs) {
      mark("evidence", seqs);
      const first = rows().find((r) => seqs.has(Number(r.dataset.seq)) && !r.hidden);
      if (first) scrollWithin(scroller, first, { center: true });
    },
    select(seq) {
      mark("selected", new Set(seq ? [seq] : []));
      const r = rows().find((x) => Number(x.dataset.seq) === seq);
      if (r && !r.hidden) scrollWithin(scroller, r);
    },
  };
}
