// The sequence diagram: one lifeline per process, an arrow per transfer, hatched bars where a call
// blocked, process ends marked. Keyboard: the events are one tab stop; arrows move between them.

import { s, h, clear, scrollWithin } from "./dom.js";
import { exitShort, exitText, signature, channelText, duration, stuck } from "./format.js";
import { layout, eventLabel, CHAR_W, ROW } from "./diagram-layout.js";
import { waitState } from "./wait-state.js";

const HEAD_H = 50;

function fit(text, chars) {
  return text.length > chars ? text.slice(0, Math.max(1, chars - 1)) + "…" : text;
}

/** One label for a folded run: the shared label when every call looks the same, else the call and its target. */
function foldLabel(run, room) {
  const n = ` ×${run.length}`;
  const all = run.map((e) => eventLabel(e));
  if (all.every((t) => t === all[0])) return eventLabel(run[0], room - n.length) + n;
  const a = run[0].args || {};
  const target = [a.process ?? a.pid ?? a.channel, a.signal].filter((x) => x !== undefined && x !== null).join(", ");
  return `${run[0].call}(${target})${n}`.slice(0, Math.max(room, 8));
}

function eventAria(ev, model) {
  const p = model.processes[model.processIndex.get(ev.process)];
  const parts = [`#${ev.seq}`, `${ev.process} (pid ${p?.pid ?? "?"})`, signature(ev)];
  const ch = channelText(ev);
  if (ch) parts.push(`channel ${ch}`);
  if (stuck(ev)) parts.push("blocked, never returned");
  else if (model.waited.has(ev.seq)) parts.push(`blocked ${duration(ev.blocked_ns)}`);
  return parts.join(", ");
}

function defs() {
  return s("defs", {}, [
    s("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, [
      s("rect", { width: 6, height: 6, class: "hatch-bg" }),
      s("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line" }),
    ]),
    s("pattern", { id: "sleep-dots", width: 5, height: 5, patternUnits: "userSpaceOnUse" }, [
      s("rect", { width: 5, height: 5, class: "sleep-bg" }),
      s("circle", { cx: 2.5, cy: 2.5, r: 1, class: "sleep-dot" }),
    ]),
  ]);
}

function header(model, L) {
  const svg = s("svg", { class: "diagram-head", width: L.width, height: HEAD_H, role: "presentation" });
  svg.append(s("text", { x: 8, y: 30, class: "gutter-title" }, L.mode === "scale" ? "time" : L.gutter < 60 ? "#" : "# / time"));
  for (const p of model.processes) {
    const x = L.xOf(p.name);
    const w = L.col - 14;
    const sub = p.parent ? `child of ${p.parent}` : p.index === 0 ? "first process" : "";
    const full = `${p.name} (pid ${p.pid ?? "?"})`;
    const chars = Math.floor((w - 8) / 7.4);
    const fits = full.length <= chars;
    svg.append(s("g", { class: `lifeline-head p${p.index % 8}`, "data-process": p.name, "aria-label": full }, [
      s("title", {}, `${full}${sub ? ", " + sub : ""}`),
      s("rect", { x: x - w / 2, y: 4, width: w, height: HEAD_H - 8, rx: 6 }),
      s("text", { x, y: 22, "text-anchor": "middle", class: "head-name" }, fits ? full : fit(p.name, chars)),
      s("text", { x, y: 37, "text-anchor": "middle", class: "head-sub" }, fits ? sub : `pid ${p.pid ?? "?"}`),
    ]));
  }
  return svg;
}

function arrowPath(x1, y1, x2, y2) {
  if (Math.abs(x2 - x1) < 1) {
    // a process reading its own pipe: a loop to the right
    return { d: `M${x1 + 6},${y1} C${x1 + 60},${y1} ${x2 + 60},${y2} ${x2 + 8},${y2}`, hx: x2 + 8, hy: y2, dir: -1, lx: x1 + 46, ly: (y1 + y2) / 2 };
  }
  const dir = x2 > x1 ? 1 : -1;
  const hx = x2 - dir * 7;
  return { d: `M${x1 + dir * 7},${y1} L${hx},${y2}`, hx, hy: y2, dir, lx: (x1 + x2) / 2, ly: (y1 + y2) / 2 };
}

/** A triangle with its tip at (x, y), pointing along `angle` in direction `dir` (±1). */
function arrowHead(x, y, dir, angle) {
  const len = 9, half = 4.5;
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const bx = x - dir * len * cos, by = y - len * sin;
  return `${x},${y} ${bx - sin * half},${by + cos * half} ${bx + sin * half},${by - cos * half}`;
}

function overlaps(a, b, m = 2) {
  return a.x < b.x + b.w + m && b.x < a.x + a.w + m && a.y < b.y + b.h + m && b.y < a.y + a.h + m;
}

/** The label a signal arrow carries: the signal, the value it was queued with, how many sends merged. */
function signalLabel(t) {
  let text = `⚡${t.signal}`;
  if (t.value) text += ` ${t.value}`;
  if (t.merged) text += ` (+${t.merged} merged)`;
  return text;
}

function transfersLayer(model, L, placed) {
  const g = s("g", { class: "transfers" });
  // Arrows leaving one folded row (kill ×10) carry one label between them, on the first.
  const foldOf = new Map();
  for (const run of L.folds) for (const e of run) foldOf.set(e.seq, run);
  const labelledFold = new Set();
  const channels = [...new Set(model.transfers.map((t) => t.channel))];
  const arrows = [...model.transfers, ...(model.signals || []), ...(model.releases || [])];
  // Many pieces from one process into one read (a read that drains a full pipe): one label for them all.
  const groups = new Map();
  for (const t of model.transfers) {
    const key = `${t.to.seq}|${t.from.process}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(t);
  }
  const groupLabel = new Map();
  for (const list of groups.values()) {
    if (list.length <= 2) continue;
    const total = list.reduce((n, t) => n + t.bytes, 0);
    list.forEach((t, i) => groupLabel.set(t, i === Math.floor(list.length / 2) ? `${list.length} writes · ${total} B` : null));
  }
  for (const t of arrows) {
    const isSignal = t.kind === "signal", isRelease = t.kind === "release";
    const x1 = L.xOf(t.from.process), x2 = L.xOf(t.to.process);
    const y1 = L.rowY.get(t.from.seq);
    const arrive = t.to.end_ns ?? t.to.t_ns;
    const y2 = Math.max(L.yAt(arrive), y1, L.rowY.get(t.to.seq));
    const p = arrowPath(x1, y1, x2, y2);
    const angle = Math.atan2(y2 - y1, Math.abs(x2 - x1) || 1);
    const full = isSignal ? signalLabel(t) : isRelease ? `wakes · ${t.channel}` : `${t.bytes} B${t.preview ? " " + t.preview : ""}`;
    const straight = Math.abs(x2 - x1) >= 1;
    // the full label where it fits without covering another label, else just the byte count, else none
    let box = null, text = full;
    const grouped = groupLabel.has(t) ? groupLabel.get(t) : undefined;
    const fold = foldOf.get(t.from.seq);
    const foldCount = fold ? [...(model.signals || []), ...model.transfers].filter((o) => fold.includes(o.from)).length : 0;
    const quiet = fold && labelledFold.has(fold);
    if (fold) labelledFold.add(fold);
    const candidates = quiet ? [] : fold && isSignal ? [`⚡${t.signal}: ${fold.length} sent, ${foldCount} delivered`, `⚡×${fold.length}→${foldCount}`] : isSignal ? [full, `⚡${t.signal}`] : isRelease ? [full, "wakes"] :
      grouped === undefined ? (t.preview ? [full, `${t.bytes} B`] : [full]) : grouped ? [grouped] : [];
    for (const candidate of candidates) {
      const tw = candidate.length * CHAR_W + 8;
      for (const f of straight ? [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8] : [0.5]) {
        const lx = straight ? x1 + (x2 - x1) * f : p.lx;
        const ly = straight ? y1 + (y2 - y1) * f : p.ly;
        const cand = { x: lx - tw / 2, y: ly - 8, w: tw, h: 15 };
        if (!placed.some((b) => overlaps(b, cand))) { box = cand; break; }
      }
      if (box) { text = candidate; break; }
    }
    const label = [];
    if (box) {
      placed.push(box);
      label.push(s("rect", { class: "transfer-label-bg", x: box.x, y: box.y, width: box.w, height: box.h, rx: 4 }));
      label.push(s("text", { class: "transfer-label", x: box.x + box.w / 2, y: box.y + 11, "text-anchor": "middle" }, text));
    }
    if (isSignal) {
      const merged = t.merged ? `; ${t.merged} more ${t.signal} sent before it (#${t.mergedSeqs.join(", #")}) merged into this one pending signal` : "";
      const desc = `signal ${t.signal}: ${t.from.process} #${t.from.seq} ${t.from.call} → delivered to ${t.to.process} #${t.to.seq}${t.value ? ` with ${t.value}` : ""}${merged}`;
      g.append(s("g", { class: "signal", "data-from": t.from.seq, "data-to": t.to.seq, "data-signal": t.signal }, [
        s("title", {}, desc),
        s("path", { d: p.d, class: "signal-line" }),
        s("polygon", { points: arrowHead(p.hx, p.hy, p.dir, straight ? angle : 0), class: "signal-head" }),
        ...label.map((el) => { el.setAttribute("class", el.getAttribute("class").replace("transfer-", "signal-")); return el; }),
      ]));
      continue;
    }
    if (isRelease) {
      const desc = `semaphore ${t.channel}: ${t.from.process} #${t.from.seq} sem_post woke ${t.to.process} #${t.to.seq} sem_wait (it found the value 0 and slept until this post)`;
      g.append(s("g", { class: "release", "data-from": t.from.seq, "data-to": t.to.seq, "data-channel": t.channel }, [
        s("title", {}, desc),
        s("path", { d: p.d, class: "release-line" }),
        s("polygon", { points: arrowHead(p.hx, p.hy, p.dir, straight ? angle : 0), class: "release-head" }),
        ...label.map((el) => { el.setAttribute("class", el.getAttribute("class").replace("transfer-", "release-")); return el; }),
      ]));
      continue;
    }
    const desc = `${t.from.process} #${t.from.seq} → ${t.to.process} #${t.to.seq} through ${t.channel}: ${full}`;
    g.append(s("g", {
      class: `transfer c${channels.indexOf(t.channel) % 6}`, "data-from": t.from.seq, "data-to": t.to.seq,
      "data-bytes": t.bytes, "data-channel": t.channel,
    }, [
      s("title", {}, desc),
      s("path", { d: p.d, class: "transfer-line" }),
      s("polygon", { points: arrowHead(p.hx, p.hy, p.dir, straight ? angle : 0), class: "transfer-head" }),
      ...label,
    ]));
  }
  return g;
}

function body(model, L) {
  const svg = s("svg", {
    class: `diagram-body mode-${L.mode}`, width: L.width, height: L.height, role: "group",
    "aria-label": `Sequence diagram: ${model.processes.length} processes, ${model.events.length} events, ${model.transfers.length} transfers` +
      (model.signals && model.signals.length ? `, ${model.signals.length} signals` : "") +
      (model.releases && model.releases.length ? `, ${model.releases.length} semaphore wake-ups` : ""),
  });
  svg.append(defs());
  const grid = s("g", { class: "grid" });
  L.ticks.forEach((t, i) => {
    if (L.mode === "order" && i % 2 === 0) grid.append(s("rect", { class: "row-band", x: 0, y: t.y - ROW / 2, width: L.width, height: ROW }));
    if (L.mode === "scale") grid.append(s("line", { class: "tick-line", x1: L.gutter - 6, x2: L.width, y1: t.y, y2: t.y }));
    const label = t.seq !== undefined ? [s("tspan", { class: "tick-seq" }, `#${t.seq} `), t.text] : [t.text];
    grid.append(s("text", { x: 8, y: t.y + 4, class: "tick" }, label));
  });
  svg.append(grid);

  for (const p of model.processes) {
    const x = L.xOf(p.name), start = L.starts.get(p.name), end = L.ends.get(p.name);
    const lifeline = s("g", { class: `lifeline p${p.index % 8}`, "data-process": p.name, "data-pid": p.pid ?? "" }, [
      s("line", { x1: x, x2: x, y1: start.y, y2: end, class: "lifeline-line" }),
    ]);
    if (start.by) {
      const px = L.xOf(start.by.process) + (L.labelLeft.has(start.by.seq) ? 8 : 14 + eventLabel(start.by, L.room(start.by)).length * CHAR_W);
      if (x > px) lifeline.append(s("path", { class: "spawn-line", d: `M${px},${start.y} L${x},${start.y}` }));
    }
    const killed = p.exit && p.exit.signal;
    const mark = killed
      ? s("path", { class: "end-mark killed", d: `M${x - 7},${end - 7} L${x + 7},${end + 7} M${x + 7},${end - 7} L${x - 7},${end + 7}` })
      : s("line", { class: `end-mark${p.exit ? "" : " unknown"}`, x1: x - 12, x2: x + 12, y1: end, y2: end });
    lifeline.append(s("g", { class: `process-end${killed ? " killed" : ""}`, "data-process": p.name }, [
      s("title", {}, `${p.name}: ${exitText(p.exit)}`),
      mark,
      s("text", { x: x + 16, y: end + 4, class: "end-text" }, exitShort(p.exit)),
    ]));
    svg.append(lifeline);
  }

  // Why it took time: hatched = blocked on an object (the cause beside it), dotted = asleep on a
  // timer, solid = running on the CPU. Thin: it only took its time.
  const bars = s("g", { class: "blocked-bars" });
  const causes = [];
  for (const ev of model.spans) {
    const x = L.xOf(ev.process), y1 = L.rowY.get(ev.seq);
    const never = stuck(ev);
    const waited = model.waited.has(ev.seq);
    const y2 = never ? L.ends.get(ev.process) - 4 : Math.max(L.yAt(ev.end_ns ?? ev.t_ns), y1 + 3);
    const st = waited ? waitState(ev, model.trace) : null;
    const how = !st ? "took" : st.kind === "blocked" ? "blocked" : st.kind === "sleeping" ? "slept" : "ran";
    const title = never ? `#${ev.seq} ${ev.call} blocked and never returned — ${st.cause}`
      : `#${ev.seq} ${ev.call} ${how} ${duration(ev.blocked_ns)}${st ? ` — ${st.cause}` : ""}`;
    const cls = !waited ? `call-span p${model.processIndex.get(ev.process) % 8}`
      : st.kind === "blocked" ? `blocked${never ? " never-returned" : ""}` : `${st.kind} p${model.processIndex.get(ev.process) % 8}`;
    bars.append(s("rect", {
      class: cls, "data-seq": ev.seq, "data-cause": st ? st.cause : null,
      x: x - (waited ? 5 : 2), y: y1, width: waited ? 10 : 4, height: y2 - y1,
    }, s("title", {}, title)));
    if (st && y2 - y1 > ROW * 0.9) causes.push({ ev, x, y1, y2, st });
  }
  svg.append(bars);

  // Event labels claim their place first; in "scale" mode a label that would cover another is left out.
  // A folded run of one call (kill ×100) has one mark and one label for all of it.
  const placed = [], labels = new Map();
  const folded = new Map();     // first seq of a folded run -> the run
  const hidden = new Set();     // the rest of it
  for (const run of L.folds) { folded.set(run[0].seq, run); run.slice(1).forEach((e) => hidden.add(e.seq)); }
  for (const ev of model.events) {
    if (hidden.has(ev.seq)) continue;
    const x = L.xOf(ev.process), y = L.rowY.get(ev.seq);
    const run = folded.get(ev.seq);
    const room = L.room(ev);
    const text = run ? foldLabel(run, room) : eventLabel(ev, room);
    const w = text.length * CHAR_W + 4;
    const left = L.labelLeft.has(ev.seq);
    const box = { x: left ? x - 10 - w : x + 8, y: y - 7, w, h: 14, left };
    if (L.mode === "order" || !placed.some((b) => overlaps(b, box))) { placed.push(box); labels.set(ev.seq, box); box.text = text; }
  }
  // The cause of a long wait, beside its bar where it is free; and the result where the call returned.
  const causeLayer = s("g", { class: "wait-causes" });
  for (const c of causes) {
    const text = c.st.cause.length > L.room(c.ev) ? c.st.cause.slice(0, L.room(c.ev) - 1) + "…" : c.st.cause;
    const w = text.length * 6 + 4;
    const ym = Math.min(c.y1 + ROW * 0.9, (c.y1 + c.y2) / 2);
    const box = { x: c.x + 9, y: ym - 6, w, h: 12 };
    if (placed.some((b) => overlaps(b, box, 0))) continue;
    placed.push(box);
    causeLayer.append(s("text", { class: `wait-cause cause-${c.st.kind}`, x: box.x + 2, y: ym + 4, "data-seq": c.ev.seq }, text));
    if (c.st.kind !== "blocked" || stuck(c.ev)) continue;
    const ret = `↳ ${eventLabel(c.ev, 18).split(" ← ")[0].split(" → ")[0]}`;
    const rbox = { x: c.x + 9, y: c.y2 - 6, w: ret.length * 6 + 4, h: 12 };
    if (c.y2 - c.y1 < ROW * 1.8 || placed.some((b) => overlaps(b, rbox, 0))) continue;
    placed.push(rbox);
    causeLayer.append(s("text", { class: "returned-at", x: rbox.x + 2, y: c.y2 + 4, "data-seq": c.ev.seq }, `${ret} returned`));
  }
  svg.append(transfersLayer(model, L, placed));
  svg.append(causeLayer);

  const marks = s("g", { class: "events" });
  let first = true;
  model.events.forEach((ev) => {
    if (hidden.has(ev.seq)) return;
    const run = folded.get(ev.seq);
    const p = model.processes[model.processIndex.get(ev.process)];
    const x = L.xOf(ev.process), y = L.rowY.get(ev.seq);
    const cls = ["event", `p${p.index % 8}`];
    if (ev.errno) cls.push("failed");
    if (stuck(ev)) cls.push("never-returned");
    const label = labels.get(ev.seq);
    const hitX = label && label.left ? label.x - 4 : x - 8;
    const hitW = label ? (label.left ? x + 8 - hitX : label.w + 20) : 16;
    const g = s("g", { class: cls.join(" "), "data-seq": ev.seq, "data-process": ev.process, "data-call": ev.call,
      tabindex: first ? 0 : -1, role: "button", "data-members": run ? run.map((e) => e.seq).join(" ") : String(ev.seq),
      "aria-label": run ? `${eventAria(ev, model)}; and ${run.length - 1} more ${ev.call} right after it (#${run[1].seq}–#${run[run.length - 1].seq})` : eventAria(ev, model) }, [
      s("rect", { class: "hit", x: hitX, y: y - 9, width: hitW, height: 18 }),
      s("rect", { class: "mark", x: x - 5, y: y - 5, width: 10, height: 10, rx: 2 }),
      label ? s("text", { class: "event-label", x: label.left ? x - 10 : x + 10, y: y + 4, "text-anchor": label.left ? "end" : null }, label.text) : null,
    ]);
    if (run) g.classList.add("folded");
    first = false;
    marks.append(g);
  });
  svg.append(marks);
  return svg;
}

/**
 * Draw the trace into `root`. Returns a handle:
 * setHighlight(seqs) marks evidence; select(seq) marks the chosen event; focus(seq) moves focus to it.
 * `on.hover(seq|null, element)` and `on.select(seq)` report what the student points at.
 */
export function renderDiagram(root, model, mode, on) {
  clear(root);
  if (model.events.length === 0) {
    root.append(h("p", { class: "empty" }, "This run recorded no events."));
    return { setHighlight() {}, select() {}, focus() {}, zoom() { return 1; }, step() {} };
  }
  const L = layout(model, mode, root.clientWidth || 900);
  const bodySvg = body(model, L);
  root.append(h("div", { class: "diagram-sticky" }, header(model, L)), bodySvg);

  const eventEl = (seq) => bodySvg.querySelector(`.event[data-members~="${seq}"]`);
  const order = [...bodySvg.querySelectorAll(".event")].map((e) => Number(e.dataset.seq));
  const headSvg = root.querySelector(".diagram-head");
  for (const el of [bodySvg, headSvg]) el.setAttribute("viewBox", `0 0 ${el.getAttribute("width")} ${el.getAttribute("height")}`);
  const natural = { w: L.width, h: L.height, head: HEAD_H };
  const moveTo = (seq) => {
    const el = eventEl(seq);
    if (!el) return;
    bodySvg.querySelectorAll(".event[tabindex='0']").forEach((e) => e.setAttribute("tabindex", "-1"));
    el.setAttribute("tabindex", "0");
    el.focus({ preventScroll: true });
    scrollWithin(root, el);
  };
  const seqOf = (target) => {
    const g = target.closest && target.closest(".event, .transfer, .signal, .release, .blocked");
    if (!g) return null;
    return Number(g.dataset.seq ?? g.dataset.to);
  };
  bodySvg.addEventListener("pointerover", (e) => { const q = seqOf(e.target); if (q) on.hover(q, e.target.closest("g, rect")); });
  bodySvg.addEventListener("pointerout", (e) => { if (seqOf(e.target)) on.hover(null); });
  bodySvg.addEventListener("focusin", (e) => { const q = seqOf(e.target); if (q) on.hover(q, e.target); });
  bodySvg.addEventListener("focusout", () => on.hover(null));
  bodySvg.addEventListener("click", (e) => { const q = seqOf(e.target); if (q) on.select(q); });
  bodySvg.addEventListener("keydown", (e) => {
    const q = seqOf(e.target);
    if (!q) return;
    const i = order.indexOf(q);
    const next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: order.length - 1 }[e.key];
    if (next !== undefined) {
      e.preventDefault();
      moveTo(order[Math.max(0, Math.min(order.length - 1, next))]);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      on.select(q);
    } else if (e.key === "Escape") on.hover(null);
  });

  // Evidence marks a transfer when both its ends are evidence; a selection marks every transfer it touches.
  const mark = (cls, seqs, bothEnds) => {
    bodySvg.querySelectorAll(`.${cls}`).forEach((el) => el.classList.remove(cls));
    for (const q of seqs) {
      bodySvg.querySelectorAll(`.event[data-members~="${q}"], .blocked[data-seq="${q}"], .sleeping[data-seq="${q}"], .running[data-seq="${q}"]`).forEach((el) => el.classList.add(cls));
      bodySvg.querySelectorAll(`.transfer[data-from="${q}"], .transfer[data-to="${q}"], .signal[data-from="${q}"], .signal[data-to="${q}"], .release[data-from="${q}"], .release[data-to="${q}"]`).forEach((el) => {
        const a = seqs.has(Number(el.dataset.from)), b = seqs.has(Number(el.dataset.to));
        if (bothEnds ? a && b : a || b) el.classList.add(cls);
      });
    }
  };
  return {
    setHighlight(seqs) {
      mark("evidence", seqs, true);
      bodySvg.classList.toggle("has-evidence", seqs.size > 0);
      const first = [...seqs].sort((a, b) => a - b)[0];
      if (first !== undefined) scrollWithin(root, eventEl(first), { center: true });
    },
    select(seq) { mark("selected", new Set(seq ? [seq] : []), false); if (seq) scrollWithin(root, eventEl(seq)); },
    focus: moveTo,
    /** Scale the drawing (1 = natural size); "fit" makes the whole run fit the box. Returns the scale. */
    zoom(z) {
      if (z === "fit") {
        const box = root.getBoundingClientRect();
        const availH = Math.max(200, (root.clientHeight || box.height) - natural.head - 8);
        z = Math.min(1, availH / natural.h, (root.clientWidth || box.width) / natural.w);
      }
      z = Math.max(0.1, Math.min(2, z));
      bodySvg.setAttribute("width", natural.w * z);
      bodySvg.setAttribute("height", natural.h * z);
      headSvg.setAttribute("width", natural.w * z);
      headSvg.setAttribute("height", natural.head * z);
      root.dataset.zoom = z.toFixed(2);
      return z;
    },
    /** The step shown (seq): events after it fade, it is marked, the box scrolls to it. */
    step(seq) {
      bodySvg.classList.toggle("stepping", seq !== null);
      bodySvg.querySelectorAll(".future, .now").forEach((el) => el.classList.remove("future", "now"));
      if (seq === null) return;
      bodySvg.querySelectorAll(".event").forEach((el) => {
        const members = el.dataset.members.split(" ").map(Number);
        if (members[0] > seq) el.classList.add("future");
        else if (members.includes(seq)) el.classList.add("now");
      });
      bodySvg.querySelectorAll(".transfer, .signal, .release").forEach((el) => {
        if (Math.max(Number(el.dataset.from), Number(el.dataset.to)) > seq) el.classList.add("future");
      });
      bodySvg.querySelectorAll(".blocked-bars rect, .wait-causes text").forEach((el) => {
        if (Number(el.dataset.seq) > seq) el.classList.add("future");
      });
      scrollWithin(root, eventEl(seq), { center: true });
    },
  };
}
