// The figures of a measurement run (bench.throughput, bench.latency) and a bar chart of them. Both
// come from the trace's aggregate events alone, as the API contract defines them:
//   bench_throughput (one per mechanism phase): args mechanism, bytes, chunk_bytes, elapsed_ns,
//     cpu_user_ns, cpu_system_ns, peer_cpu_user_ns, peer_cpu_system_ns, cpu, peer_cpu, copies_per_byte
//   bench_latency (one per mechanism phase): args mechanism, round_trips, min_ns, p50_ns, p99_ns,
//     max_ns, cpu, peer_cpu
// GiB/s = bytes / elapsed_ns × 1e9 / 2^30. A phase whose call did not return has no figure.

import { h, s, clear } from "./dom.js";

const GIB = 2 ** 30;
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The figures in `events`: { throughput: [...], latency: [...] }, each in the order measured. */
export function benchFigures(events) {
  const throughput = [], latency = [];
  for (const e of events || []) {
    if (e.result === null || e.result === undefined) continue;
    const a = e.args || {};
    if (e.call === "bench_throughput") {
      const bytes = num(a.bytes), elapsed = num(a.elapsed_ns);
      if (bytes === null || !elapsed || elapsed <= 0) continue;
      throughput.push({
        mechanism: String(a.mechanism ?? "?"), process: e.process, seq: e.seq,
        bytes, elapsedNs: elapsed, chunkBytes: num(a.chunk_bytes),
        gibPerSecond: (bytes / elapsed) * 1e9 / GIB,
        cpuNs: sum(a.cpu_user_ns, a.cpu_system_ns), peerCpuNs: sum(a.peer_cpu_user_ns, a.peer_cpu_system_ns),
        copiesPerByte: num(a.copies_per_byte), cpu: num(a.cpu), peerCpu: num(a.peer_cpu),
      });
    } else if (e.call === "bench_latency") {
      const p50 = num(a.p50_ns), p99 = num(a.p99_ns);
      if (p50 === null || p99 === null || !(num(a.round_trips) > 0)) continue;
      latency.push({
        mechanism: String(a.mechanism ?? "?"), process: e.process, seq: e.seq,
        roundTrips: a.round_trips, minUs: us(a.min_ns), p50Us: p50 / 1e3, p99Us: p99 / 1e3, maxUs: us(a.max_ns),
        cpu: num(a.cpu), peerCpu: num(a.peer_cpu),
      });
    }
  }
  return { throughput, latency };
}

function sum(a, b) { return num(a) === null && num(b) === null ? null : (num(a) || 0) + (num(b) || 0); }
function us(ns) { return num(ns) === null ? null : ns / 1e3; }

/** Whether a trace holds any figure worth a chart. */
export function hasBenchFigures(figures) {
  return figures.throughput.length > 0 || figures.latency.length > 0;
}

// ---- formatting ---------------------------------------------------------------------------------

export function fmtFigure(v) {
  if (v === null || v === undefined) return "—";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function fmtBytes(n) {
  if (n === null) return "—";
  if (n >= GIB) return `${fmtFigure(n / GIB)} GiB`;
  if (n >= 2 ** 20) return `${fmtFigure(n / 2 ** 20)} MiB`;
  if (n >= 1024) return `${fmtFigure(n / 1024)} KiB`;
  return `${n} B`;
}

function fmtMs(ns) { return ns === null ? "—" : `${fmtFigure(ns / 1e6)} ms`; }
function cpus(f) { return f.cpu === null ? "—" : `${f.cpu} ↔ ${f.peerCpu ?? "?"}`; }

/** A round step for about `parts` gridlines up to `max`. */
function niceStep(max, parts) {
  const raw = max / parts;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

// ---- the chart ----------------------------------------------------------------------------------

const VALUE_W = 100, TOP = 22, BOTTOM = 30, PAD_R = 8;

/** A tick's label: whole numbers when the step is, else as a figure. */
function fmtTick(v, step) {
  return step >= 1 ? String(Math.round(v)) : fmtFigure(v);
}

/**
 * Horizontal bars, one row per mechanism: `series` is [{key, label, cls}] (one bar each per row),
 * `rows` [{mechanism, values: {key: number}, describe: string}], `valueText(series, value)` the text
 * at a bar's end. Narrow (a phone): each mechanism's name above its bars, which then span the width.
 * Keyboard: each row is a tab stop, labelled with its figures.
 */
function barChart({ id, title, unit, better, series, rows, width, valueText }) {
  const W = Math.max(280, Math.floor(width));
  const compact = W < 480;
  const labelW = compact ? 0 : 96, labelH = compact ? 17 : 0;
  const barH = series.length > 1 ? 13 : 18, gap = 3;
  const barsH = series.length * barH + (series.length - 1) * gap;
  const rowH = labelH + barsH + 14;
  const plotW = W - labelW - VALUE_W - PAD_R;
  const H = TOP + rows.length * rowH + BOTTOM;
  const max = Math.max(...rows.flatMap((r) => series.map((sr) => r.values[sr.key] || 0)), 1e-9);
  const step = niceStep(max, compact ? 3 : 5);
  const top = Math.ceil(max / step) * step;
  const x = (v) => labelW + (v / top) * plotW;

  const svg = s("svg", {
    class: "bench-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "group",
    "aria-labelledby": `${id}-title`, "data-chart": id,
  });
  const grid = s("g", { class: "grid", "aria-hidden": "true" });
  for (let v = 0; v <= top + step / 2; v += step) {
    grid.append(
      s("line", { x1: x(v), x2: x(v), y1: TOP - 4, y2: H - BOTTOM + 2, class: v === 0 ? "axis" : "gridline" }),
      s("text", { x: x(v), y: H - BOTTOM + 15, class: "tick", "text-anchor": v === 0 && compact ? "start" : "middle" }, fmtTick(v, step)),
    );
  }
  grid.append(s("text", { x: labelW + plotW / 2, y: H - 3, class: "axis-title", "text-anchor": "middle" },
    `${unit} — ${better}`));
  svg.append(grid);

  rows.forEach((r, i) => {
    const y0 = TOP + i * rowH + 6;
    const g = s("g", {
      class: "bench-row", tabindex: "0", role: "img", "aria-label": r.describe,
      "data-mechanism": r.mechanism, "data-values": JSON.stringify(r.values),
    }, [s("title", {}, r.describe)]);
    g.append(compact
      ? s("text", { x: 2, y: y0 + 11, class: "bench-label" }, r.mechanism)
      : s("text", { x: labelW - 8, y: y0 + barsH / 2 + 4, class: "bench-label", "text-anchor": "end" }, r.mechanism));
    series.forEach((sr, k) => {
      const v = r.values[sr.key];
      const y = y0 + labelH + k * (barH + gap);
      const w = v > 0 ? Math.max(2, x(v) - labelW) : 0;
      g.append(s("rect", { x: labelW, y, width: w, height: barH, rx: 2, class: `bar ${sr.cls}`, "data-key": sr.key }));
      g.append(s("text", { x: labelW + w + 5, y: y + barH / 2 + 4, class: "bench-value" }, valueText(sr, v)));
    });
    svg.append(g);
  });
  return h("figure", { class: "bench-figure" }, [
    h("figcaption", { id: `${id}-title`, class: "bench-title" }, title),
    series.length > 1 ? h("p", { class: "bench-legend" }, series.map((sr) =>
      h("span", {}, [h("span", { class: `swatch ${sr.cls}`, "aria-hidden": "true" }), sr.label]))) : null,
    svg,
  ]);
}

let tables = 0;

function table(caption, head, rows) {
  const id = `bench-table-${++tables}`;
  return h("div", { class: "bench-table-block" }, [
    h("p", { id, class: "bench-table-caption" }, caption),
    h("div", { class: "bench-table-wrap", role: "region", "aria-labelledby": id, tabindex: "0" },
      h("table", { class: "bench-table", "aria-labelledby": id }, [
        h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))))),
      ])),
  ]);
}

/**
 * Render the figures (from benchFigures) into `root`: a chart and a table per kind of measurement.
 * Returns how many charts were drawn (0 when there are no figures).
 */
export function renderBenchChart(root, figures, { width } = {}) {
  clear(root);
  const w = Math.min(760, width || root.clientWidth || 560);
  let charts = 0;
  if (figures.throughput.length) {
    charts++;
    root.append(barChart({
      id: "bench-throughput", title: "Throughput per mechanism", unit: "GiB/s", better: "longer is faster",
      series: [{ key: "gib", label: "GiB/s", cls: "tp" }], width: w,
      valueText: (sr, v) => `${fmtFigure(v)} GiB/s`,
      rows: figures.throughput.map((f) => ({
        mechanism: f.mechanism, values: { gib: f.gibPerSecond },
        describe: `${f.mechanism}: ${fmtFigure(f.gibPerSecond)} GiB/s (${fmtBytes(f.bytes)} in ${fmtMs(f.elapsedNs)})`,
      })),
    }));
    root.append(table("Throughput: what each phase moved (bytes and time as recorded by the receiver)",
      ["mechanism", "GiB/s", "bytes", "time", "chunk", "copies/byte", "CPU receiver / sender", "on CPUs"],
      figures.throughput.map((f) => [f.mechanism, fmtFigure(f.gibPerSecond), fmtBytes(f.bytes), fmtMs(f.elapsedNs),
        fmtBytes(f.chunkBytes), f.copiesPerByte ?? "—", `${fmtMs(f.cpuNs)} / ${fmtMs(f.peerCpuNs)}`, cpus(f)])));
  }
  if (figures.latency.length) {
    charts++;
    root.append(barChart({
      id: "bench-latency", title: "Round-trip latency per mechanism", unit: "µs per round trip", better: "shorter is faster",
      series: [{ key: "p50", label: "p50 (median)", cls: "p50" }, { key: "p99", label: "p99", cls: "p99" }], width: w,
      valueText: (sr, v) => `${sr.key} ${fmtFigure(v)} µs`,
      rows: figures.latency.map((f) => ({
        mechanism: f.mechanism, values: { p50: f.p50Us, p99: f.p99Us },
        describe: `${f.mechanism}: median ${fmtFigure(f.p50Us)} µs, 99th percentile ${fmtFigure(f.p99Us)} µs per round trip (${f.roundTrips} round trips)`,
      })),
    }));
    root.append(table("Latency: microseconds per round trip",
      ["mechanism", "p50 µs", "p99 µs", "min µs", "max µs", "round trips", "on CPUs"],
      figures.latency.map((f) => [f.mechanism, fmtFigure(f.p50Us), fmtFigure(f.p99Us), fmtFigure(f.minUs),
        fmtFigure(f.maxUs), String(f.roundTrips), cpus(f)])));
  }
  return charts;
}
