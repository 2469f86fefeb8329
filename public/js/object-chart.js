// Kernel-object state over time (bytes in a pipe, messages in a queue…): a small step chart per
// object and numeric state field that changes; fields that stay put are named in the caption.

import { h, s, clear } from "./dom.js";

const W = 300, H = 110, PAD = { l: 46, r: 10, t: 10, b: 22 };

function series(objects) {
  const groups = new Map();
  for (const o of objects) {
    if (!groups.has(o.object)) groups.set(o.object, { name: o.object, kind: o.kind, points: [] });
    groups.get(o.object).points.push(o);
  }
  const out = [];
  for (const g of groups.values()) {
    g.points.sort((a, b) => a.t_ns - b.t_ns || a.seq - b.seq);
    const keys = [...new Set(g.points.flatMap((p) => Object.keys(p.state || {})))]
      .filter((k) => g.points.every((p) => p.state[k] === undefined || typeof p.state[k] === "number"));
    const constant = [], changing = [];
    for (const k of keys) {
      const vals = new Set(g.points.map((p) => p.state[k]).filter((v) => v !== undefined));
      (vals.size > 1 || keys.length === 1 ? changing : constant).push(k);
    }
    if (changing.length === 0 && keys.length) changing.push(keys.find((k) => !/capacity|max|size/.test(k)) || keys[0]);
    for (const k of changing) out.push({ ...g, key: k, constant: constant.filter((c) => c !== k) });
  }
  return out;
}

function chart(sr, runEnd, onPick) {
  const pts = sr.points.filter((p) => typeof p.state[sr.key] === "number");
  const maxV = Math.max(1, ...pts.map((p) => p.state[sr.key]));
  const span = Math.max(runEnd, ...pts.map((p) => p.t_ns), 1);
  const x = (t) => PAD.l + (t / span) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / maxV) * (H - PAD.t - PAD.b);
  let d = "", prevY = y(0);
  d = `M${x(0)},${prevY}`;
  for (const p of pts) {
    const yy = y(p.state[sr.key]);
    d += ` L${x(p.t_ns)},${prevY} L${x(p.t_ns)},${yy}`;
    prevY = yy;
  }
  d += ` L${x(span)},${prevY}`;
  const svg = s("svg", { class: "object-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": `${sr.key} of ${sr.name} over time: ${pts.map((p) => p.state[sr.key]).join(", ")}` }, [
    s("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }),
    s("line", { class: "axis", x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: H - PAD.b }),
    s("text", { class: "axis-label", x: PAD.l - 4, y: PAD.t + 8, "text-anchor": "end" }, String(maxV)),
    s("text", { class: "axis-label", x: PAD.l - 4, y: H - PAD.b, "text-anchor": "end" }, "0"),
    s("text", { class: "axis-label", x: PAD.l, y: H - 6 }, "0 ms"),
    s("text", { class: "axis-label", x: W - PAD.r, y: H - 6, "text-anchor": "end" }, `${(span / 1e6).toFixed(3)} ms`),
    s("path", { class: "series", d }),
    ...pts.map((p) => {
      const dot = s("circle", { class: "point", cx: x(p.t_ns), cy: y(p.state[sr.key]), r: 3.5, "data-seq": p.seq },
        s("title", {}, `after #${p.seq}: ${sr.key} = ${p.state[sr.key]}`));
      dot.addEventListener("click", () => onPick(p.seq));
      return dot;
    }),
  ]);
  return svg;
}

export function renderObjects(root, trace, runEnd, onPick) {
  clear(root);
  const list = series(trace.objects || []);
  if (list.length === 0) {
    root.append(h("p", { class: "muted" }, "No kernel-object snapshots in this run."));
    return;
  }
  for (const sr of list) {
    const last = sr.points[sr.points.length - 1].state;
    const consts = sr.constant.map((k) => `${k} ${last[k]}`).join(", ");
    root.append(h("figure", { class: "object" }, [
      h("figcaption", {}, [h("strong", {}, sr.name), ` (${sr.kind}) — ${sr.key}`, consts ? h("span", { class: "muted" }, ` · ${consts}`) : null]),
      chart(sr, runEnd, onPick),
    ]));
  }
}
