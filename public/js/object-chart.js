// Kernel-object state over time (bytes in a pipe, messages in a queue, a semaphore's value, attached
// processes, a process's state…): one small chart per object. Each numeric field that changes gets a
// lane (its own 0…max scale, named as in the snapshot) on a shared time axis; a changing text field
// such as a process state gets a strip of labelled segments. Fields that stay put, and identifiers
// (pids, keys, ids), are named in the caption instead of charted.

import { h, s, clear } from "./dom.js";

const W = 300, PAD = { l: 8, r: 10, t: 4, b: 20 };
const LANE = 48, LANE_PLOT = 26;      // px per lane; of which the plot
const ID_FIELD = /(^|_)(pid|l[sr]pid|id|key|fd|shmid|msqid|semid|mqdes)$|^key_hex$/;
const TEXT_SKIP = /^(meaning|errno|waiters|key_hex)$/;   // shown in the points' titles, not as strips

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

function groupObjects(objects) {
  const groups = new Map();
  for (const o of objects) {
    if (!groups.has(o.object)) groups.set(o.object, { name: o.object, kind: o.kind, points: [] });
    groups.get(o.object).points.push(o);
  }
  const out = [];
  for (const g of groups.values()) {
    g.points.sort((a, b) => a.t_ns - b.t_ns || a.seq - b.seq);
    const keys = [...new Set(g.points.flatMap((p) => Object.keys(p.state || {})))];
    const vals = (k) => g.points.map((p) => (p.state || {})[k]).filter((v) => v !== undefined && v !== null);
    // `exists` is said in the caption ("gone after #n"), not charted
    const numeric = keys.filter((k) => vals(k).length && vals(k).every(isNum) && !ID_FIELD.test(k) && k !== "exists");
    const text = keys.filter((k) => vals(k).length && vals(k).every((v) => typeof v === "string") && !TEXT_SKIP.test(k) && !ID_FIELD.test(k));
    const changes = (k) => new Set(vals(k)).size > 1;
    const lanes = numeric.filter(changes);
    if (lanes.length === 0 && numeric.length) lanes.push(numeric.find((k) => !/capacity|max|size|qbytes|buf/.test(k)) || numeric[0]);
    const strips = text.filter(changes);
    const ids = keys.filter((k) => ID_FIELD.test(k) && k !== "key_hex" && vals(k).length);
    const constant = [...numeric.filter((k) => !lanes.includes(k)), ...text.filter((k) => !strips.includes(k)), ...ids]
      .filter((k) => !changes(k));
    out.push({ ...g, lanes, strips, constant });
  }
  return out;
}

/** What else the snapshot said, for a point's title: the waiters, the meaning of a state, an errno. */
function extras(state) {
  return Object.entries(state || {}).filter(([k, v]) => TEXT_SKIP.test(k) && v !== "" && v !== null)
    .map(([k, v]) => `${k} ${v}`).join(", ");
}

function chart(g, runEnd, onPick) {
  const span = Math.max(runEnd, ...g.points.map((p) => p.t_ns), 1);
  const x = (t) => PAD.l + (t / span) * (W - PAD.l - PAD.r);
  const rows = [...g.lanes.map((k) => ({ k, text: false })), ...g.strips.map((k) => ({ k, text: true }))];
  const H = PAD.t + rows.length * LANE + PAD.b;
  const parts = [];
  const summary = [];
  rows.forEach((row, i) => {
    const top = PAD.t + i * LANE;
    const base = top + 17 + LANE_PLOT;
    const pts = g.points.filter((p) => (row.text ? typeof p.state?.[row.k] === "string" : isNum(p.state?.[row.k])));
    if (row.text) {
      parts.push(s("text", { class: "lane-label", x: PAD.l, y: top + 10 }, row.k));
      pts.forEach((p, j) => {
        const x0 = x(p.t_ns), x1 = j + 1 < pts.length ? x(pts[j + 1].t_ns) : x(span);
        const v = p.state[row.k];
        parts.push(s("rect", { class: `strip strip-${/^[A-Za-z]$/.test(v) ? v : "x"}`, x: x0, y: base - LANE_PLOT + 4, width: Math.max(1, x1 - x0), height: LANE_PLOT - 8 }));
        if (x1 - x0 > 12) parts.push(s("text", { class: "strip-label", x: x0 + 3, y: base - LANE_PLOT / 2 + 4 }, v));
      });
      summary.push(`${row.k}: ${pts.map((p) => p.state[row.k]).join(" → ")}`);
    } else {
      const top0 = Math.max(0, ...pts.map((p) => p.state[row.k]));
      const maxV = Math.max(1, top0);
      const y = (v) => base - (v / maxV) * LANE_PLOT;
      parts.push(s("text", { class: "lane-label", x: PAD.l, y: top + 10 }, [row.k, s("tspan", { class: "lane-range" }, top0 > 0 ? `  0…${top0}` : "  always 0")]));
      parts.push(s("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: base, y2: base }));
      let d = "", prevY = null;
      for (const p of pts) {
        const yy = y(p.state[row.k]);
        d += prevY === null ? `M${x(p.t_ns)},${yy}` : ` L${x(p.t_ns)},${prevY} L${x(p.t_ns)},${yy}`;
        prevY = yy;
      }
      if (prevY !== null) d += ` L${x(span)},${prevY}`;
      parts.push(s("path", { class: `series s${i % 4}`, d }));
      summary.push(`${row.k}: ${pts.map((p) => p.state[row.k]).join(", ")}`);
    }
    for (const p of pts) {
      const v = p.state[row.k];
      const more = extras(p.state);
      const cy = row.text ? base - LANE_PLOT / 2 : base - (v / Math.max(1, ...pts.map((q) => q.state[row.k]))) * LANE_PLOT;
      const dot = s("circle", { class: `point${row.text ? " on-strip" : ` s${i % 4}`}`, cx: x(p.t_ns), cy, r: row.text ? 3.5 : 2.6, "data-seq": p.seq },
        s("title", {}, `after #${p.seq}: ${row.k} = ${v}${more ? ` (${more})` : ""}`));
      dot.addEventListener("click", () => onPick(p.seq));
      parts.push(dot);
    }
  });
  parts.push(s("text", { class: "axis-label", x: PAD.l, y: H - 6 }, "0 ms"));
  parts.push(s("text", { class: "axis-label", x: W - PAD.r, y: H - 6, "text-anchor": "end" }, `${(span / 1e6).toFixed(3)} ms`));
  return s("svg", { class: "object-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": `${g.name} over time. ${summary.join("; ")}` }, parts);
}

export function renderObjects(root, trace, runEnd, onPick) {
  clear(root);
  const list = groupObjects(trace.objects || []);
  if (list.length === 0) {
    root.append(h("p", { class: "muted" }, "No kernel-object snapshots in this run."));
    return;
  }
  for (const g of list) {
    const last = g.points[g.points.length - 1].state || {};
    const first = g.points[0].state || {};
    const consts = g.constant.map((k) => `${k} ${last[k] ?? first[k]}`).join(", ");
    const gone = last.exists === 0 ? ` · gone after #${g.points[g.points.length - 1].seq}${last.errno ? ` (${last.errno})` : ""}` : "";
    const drawn = g.lanes.length + g.strips.length;
    root.append(h("figure", { class: "object", "data-object": g.name, "data-kind": g.kind || "" }, [
      h("figcaption", {}, [h("strong", {}, g.name), ` (${(g.kind || "object").replace(/_/g, " ")})`,
        consts || gone ? h("span", { class: "muted" }, ` · ${consts}${gone}`) : null]),
      drawn ? chart(g, runEnd, onPick) : h("p", { class: "muted" }, "No numeric state recorded."),
      ...g.strips.map((k) => h("p", { class: "strip-text" }, `${k}: ` + g.points.filter((p) => typeof p.state?.[k] === "string")
        .map((p) => `${p.state[k]}${p.state.meaning ? ` (${p.state.meaning})` : ""} after #${p.seq}`).join(" → "))),
    ]));
  }
}
