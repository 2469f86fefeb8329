// Live progress of a long run, fed by the lines of a streamed run (POST /api/v1/runs with
// Accept: application/x-ndjson): a count of the events so far, the latest one, and a progress bar
// per process and mechanism from the "progress" lines of a measurement.

import { h, clear } from "./dom.js";
import { signature } from "./format.js";

/** A live view in `root` (hidden until start). Returns { start(title), line(obj), stop(), counts() }. */
export function createLiveView(root) {
  let events = 0, latest = null, bars = new Map(), frame = 0;
  let countEl, latestEl, barsEl;

  function render() {
    frame = 0;
    countEl.textContent = `${events} ${events === 1 ? "event" : "events"} so far`;
    latestEl.textContent = latest ? `latest: ${latest.process} ${signature(latest)}` : "";
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  function bar(p) {
    const key = `${p.process}\u0000${p.bench}\u0000${p.mechanism}`;
    let b = bars.get(key);
    if (!b) {
      const id = `live-bar-${bars.size}`;
      const progress = h("progress", { id, max: "100", value: "0" });
      const figure = h("span", { class: "live-figure" });
      const row = h("div", { class: "live-bar", dataset: { process: p.process, mechanism: p.mechanism, bench: p.bench } }, [
        h("label", { for: id }, [h("strong", {}, p.mechanism), ` ${p.bench} · ${p.process}`]), progress, figure,
      ]);
      barsEl.append(row);
      b = { progress, figure, row };
      bars.set(key, b);
    }
    return b;
  }

  return {
    start(title) {
      events = 0; latest = null; bars = new Map();
      root.classList.remove("broken");
      clear(root).append(
        h("h2", { id: "live-title" }, title),
        countEl = h("p", { class: "live-count" }),
        latestEl = h("p", { class: "live-latest code" }),
        barsEl = h("div", { class: "live-bars" }),
      );
      render();
      root.hidden = false;
    },
    line(obj) {
      if (obj.type === "event") {
        events++;
        latest = obj.event;
        schedule();
      } else if (obj.type === "progress") {
        const b = bar(obj);
        const pct = Math.max(0, Math.min(100, Number(obj.percent) || 0));
        b.progress.value = pct;
        b.progress.textContent = `${pct}%`;
        b.row.dataset.percent = String(pct);
        b.figure.textContent = `${pct}%`;
      }
    },
    stop() {
      if (frame) { cancelAnimationFrame(frame); render(); }
      root.hidden = true;
    },
    counts() { return { events, bars: bars.size }; },
    /** The stream broke off: keep what arrived on screen and say where it stopped. */
    brokeOff(message) {
      if (frame) { cancelAnimationFrame(frame); }
      render();
      root.classList.add("broken");
      const where = latest ? ` The last event that arrived: #${latest.seq} (${latest.process} ${latest.call}) at ${(latest.t_ns / 1e6).toFixed(3)} ms.` : "";
      root.append(h("p", { class: "live-broken", role: "alert" }, [h("strong", {}, "Stopped: "),
        `the stream broke off after ${events} ${events === 1 ? "event" : "events"}.${where} What arrived is kept here; the trace itself never came. (${message})`]));
      root.hidden = false;
    },
  };
}
