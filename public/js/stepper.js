// Step through a run: a slider and ◀ ▶ over the events (arrow keys on the slider, or , and . anywhere
// on the results), and each kernel object's state at that step drawn as a picture: a pipe's fill and
// the bytes in it, a queue's messages with their priorities, a semaphore's value and who waits on it,
// the signals pending per process, shared memory's attach count. Everything comes from the trace:
// the recorded object snapshots, and what the events themselves moved.

import { h, s, clear } from "./dom.js";

/** The snapshot of object `name` recorded last at or before time `t` (ns), or null. */
function objectAt(trace, name, t) {
  let best = null;
  for (const o of trace.objects || []) if (o.object === name && o.t_ns <= t && (!best || o.t_ns >= best.t_ns)) best = o;
  return best;
}
import { payloadBytes, preview } from "./format.js";
import { eventLabel } from "./diagram-layout.js";

const MAX_SLOTS = 12;

/**
 * What the events before step `seq` leave in each pipe (bytes) and queue (messages), and the signals
 * pending. A receive (and a delivery) counts when it returned, a send when it was made: a read that
 * blocked at #8 and got its bytes after the write at #30 has not emptied the pipe at #20.
 */
export function contentsAt(model, seq) {
  const at = model.bySeq.get(seq);
  const now = at ? at.t_ns : Infinity;
  const takes = (ev) => /^(read|readv|recv|recvfrom|recvmsg|mq_(timed)?receive|msgrcv|deliver)$/.test(ev.call);
  const when = (ev) => (takes(ev) ? ev.end_ns ?? ev.t_ns : ev.t_ns);
  const done = model.events.filter((ev) => (ev.seq === seq || when(ev) <= now) && (ev.seq <= seq || when(ev) < now))
    .sort((a, b) => when(a) - when(b) || a.seq - b.seq);
  return replay(done);
}

function replay(events) {
  const pipes = new Map(), queues = new Map(), pending = new Map(), memory = new Map();
  const sends = /^(write|writev|send|sendto|sendmsg)$/, recvs = /^(read|readv|recv|recvfrom|recvmsg)$/;
  for (const ev of events) {
    const a = ev.args || {};
    const ok = !ev.errno && ev.returned !== false;
    if (!ok) continue;
    if (a.channel && sends.test(ev.call) && typeof ev.result === "number" && ev.result > 0) {
      const b = payloadBytes(ev.payload);
      const list = pipes.get(a.channel) || [];
      list.push(...(b ? [...b.slice(0, ev.result)] : new Array(ev.result).fill(null)));
      pipes.set(a.channel, list);
    } else if (a.channel && recvs.test(ev.call) && typeof ev.result === "number" && ev.result > 0) {
      (pipes.get(a.channel) || []).splice(0, ev.result);
    } else if (/^mq_(timed)?send$|^msgsnd$/.test(ev.call)) {
      const q = queues.get(a.channel) || [];
      q.push({ prio: a.msg_prio ?? a.mtype ?? 0, text: preview(payloadBytes(ev.payload), 8) || `${a.msg_len ?? "?"} B`, seq: ev.seq });
      queues.set(a.channel, q);
    } else if (/^mq_(timed)?receive$|^msgrcv$/.test(ev.call)) {
      const q = queues.get(a.channel) || [];
      // the highest priority, oldest first (POSIX); System V by type, oldest first
      let best = -1;
      q.forEach((m, i) => { if (best < 0 || (ev.call.startsWith("mq") ? m.prio > q[best].prio : false)) best = i; });
      if (best >= 0) q.splice(best, 1);
    } else if (/^(load|store)(_int|_pointer)?$|^increment$/.test(ev.call) && a.channel) {
      // what the process saw (load) or left (store) at that offset of the shared region
      const cells = memory.get(a.channel) || new Map();
      const v = ev.call === "increment" ? a.last_stored : a.value !== undefined ? a.value : preview(payloadBytes(ev.payload), 12);
      if (v !== undefined && v !== null) cells.set(a.offset ?? 0, { v, by: ev.process, how: ev.call.startsWith("load") ? "read" : "wrote" });
      memory.set(a.channel, cells);
    } else if (/^(kill|sigqueue|tgkill|tkill)$/.test(ev.call) && a.signal) {
      const who = a.process ?? `pid ${a.pid}`;
      const set = pending.get(who) || [];
      if (/^SIGRT/.test(a.signal) || !set.includes(a.signal)) set.push(a.signal);
      pending.set(who, set);
    } else if (ev.call === "deliver" && a.signal) {
      const set = pending.get(ev.process) || [];
      const i = set.indexOf(a.signal);
      if (i >= 0) set.splice(i, 1);
    }
  }
  for (const q of queues.values()) q.sort((x, y) => y.prio - x.prio || x.seq - y.seq);
  return { pipes, queues, pending, memory };
}

function pipePicture(name, st, bytes) {
  // the bytes the events moved (exact counts from results) win over an older snapshot
  const cap = st?.capacity ?? 65536, n = bytes ? bytes.length : st?.bytes ?? 0;
  const frac = Math.min(1, n / cap);
  const fillW = n > 0 ? Math.max(6, frac * 220) : 0;
  const known = bytes && bytes.length === n && bytes.every((b) => b !== null);
  const text = n === 0 ? "empty" : known ? preview(Uint8Array.from(bytes), 18) : `${n} B`;
  return h("div", { class: "obj pipe", "data-object": name, "data-bytes": n }, [
    h("div", { class: "obj-name" }, [`pipe ${name}`, h("span", { class: "muted" }, ` ${n} of ${cap} B`)]),
    s("svg", { width: 240, height: 30, viewBox: "0 0 240 30", role: "img", "aria-label": `pipe ${name}: ${n} of ${cap} bytes${known && n ? ", " + text : ""}` }, [
      s("rect", { x: 2, y: 4, width: 224, height: 22, rx: 11, class: "tube" }),
      s("rect", { x: 4, y: 6, width: fillW, height: 18, rx: 9, class: "tube-fill" }),
      s("text", { x: 12, y: 19, class: "tube-text" }, text),
      s("path", { d: "M228,9 L236,15 L228,21", class: "tube-out" }),
    ]),
  ]);
}

function semPicture(name, st) {
  const v = st?.value ?? 0;
  const waiters = String(st?.waiters || "").split(/[ ,]+/).filter(Boolean);
  const tokens = [];
  for (let i = 0; i < Math.min(v, 8); i++) tokens.push(s("circle", { cx: 12 + i * 18, cy: 13, r: 7, class: "token" }));
  return h("div", { class: "obj semaphore", "data-object": name, "data-value": v }, [
    h("div", { class: "obj-name" }, [`semaphore ${name} = `, h("strong", {}, String(v))]),
    s("svg", { width: 162, height: 26, viewBox: "0 0 162 26", role: "img", "aria-label": `semaphore ${name}: value ${v}` },
      v === 0 ? [s("rect", { x: 2, y: 4, width: 156, height: 18, rx: 9, class: "token-empty" }), s("text", { x: 10, y: 17, class: "tube-text" }, "0: sem_wait would sleep")]
        : [...tokens, v > 8 ? s("text", { x: 150, y: 17, class: "tube-text" }, `+${v - 8}`) : null]),
    h("div", { class: "waiters" }, waiters.length ? ["waiting: ", ...waiters.map((w) => h("span", { class: "chip wait-chip" }, `${w} sleeps`))] : h("span", { class: "muted" }, "nobody waits")),
  ]);
}

function queuePicture(name, st, msgs) {
  const max = st?.mq_maxmsg ?? Math.max(msgs.length, 1);
  const cur = st?.mq_curmsgs ?? msgs.length;
  const slots = [];
  for (let i = 0; i < Math.min(max, MAX_SLOTS); i++) {
    const m = msgs[i];
    slots.push(h("li", { class: m ? "slot full" : "slot" }, m ? [h("span", { class: "prio" }, `p${m.prio}`), " ", m.text] : ""));
  }
  return h("div", { class: "obj queue", "data-object": name, "data-count": cur }, [
    h("div", { class: "obj-name" }, [`queue ${name}`, h("span", { class: "muted" }, ` ${cur} of ${max} messages${max > MAX_SLOTS ? ` (first ${MAX_SLOTS} slots drawn)` : ""} · next out first`)]),
    h("ol", { class: "slots", "aria-label": `queue ${name}: ${cur} messages` }, slots),
  ]);
}

function otherPicture(name, kind, st) {
  const entries = Object.entries(st || {}).filter(([, v]) => v !== null && typeof v !== "object");
  const nattch = st && typeof st.nattch === "number" ? st.nattch : null;
  return h("div", { class: `obj other`, "data-object": name }, [
    h("div", { class: "obj-name" }, [`${kind.replace(/_/g, " ")} ${name}`, nattch !== null ? h("span", {}, [" · attached: ", h("strong", {}, String(nattch)), " ", "●".repeat(Math.min(nattch, 8))]) : null]),
    h("div", { class: "kv" }, entries.map(([k, v]) => h("span", { class: "chip" }, `${k} ${v}`))),
  ]);
}

/** Render the stepper into `root`. on.step(seq|null) tells the diagram which step is shown. */
export function renderStepper(root, model, on) {
  clear(root);
  const events = model.events;
  if (!events.length) return { set() {} };
  const names = [...new Set((model.trace.objects || []).map((o) => o.object))];
  const kinds = new Map((model.trace.objects || []).map((o) => [o.object, o.kind]));
  const slider = h("input", { type: "range", id: "step-slider", min: 0, max: events.length, value: events.length, "aria-label": "Step through the run (event number)" });
  const prev = h("button", { type: "button", id: "step-prev", "aria-label": "Previous event" }, "◀");
  const next = h("button", { type: "button", id: "step-next", "aria-label": "Next event" }, "▶");
  const now = h("p", { class: "step-now", id: "step-now", "aria-live": "polite" });
  const pics = h("div", { class: "step-objects", id: "step-objects" });
  root.append(h("div", { class: "step-controls" }, [prev, slider, next]), now, pics);

  const draw = (k) => {
    const ev = k > 0 ? events[k - 1] : null;
    const seq = ev ? ev.seq : 0;
    slider.value = k;
    slider.setAttribute("aria-valuetext", ev ? `event ${k} of ${events.length}: #${ev.seq} ${ev.process} ${ev.call}` : "before the first event");
    clear(now).append(k === events.length ? h("strong", {}, "The end of the run") : ev ? h("strong", {}, `Step ${k} of ${events.length}`) : h("strong", {}, "Before the first event"),
      ...(ev ? [" — ", h("span", { class: "code" }, `#${ev.seq} ${ev.process}: ${eventLabel(ev)}`)] : []));
    const end = k === events.length;
    const { pipes, queues, pending, memory } = contentsAt(model, end ? Infinity : seq);
    const tNow = end ? Infinity : ev ? ev.t_ns : -1;
    clear(pics);
    for (const name of names) {
      const kind = kinds.get(name);
      const st = ev ? objectAt(model.trace, name, tNow)?.state : null;
      if (ev && !st && !pipes.has(name) && !queues.has(name)) continue;
      if (!ev) continue;
      if (kind === "pipe" || kind === "fifo") pics.append(pipePicture(name, st, pipes.get(name)));
      else if (kind === "semaphore") pics.append(semPicture(name, st));
      else if (kind === "message_queue") pics.append(queuePicture(name, st, queues.get(name) || []));
      else pics.append(otherPicture(name, kind || "object", st));
    }
    for (const [name, cells] of memory) {
      if (names.includes(name)) continue;
      pics.append(h("div", { class: "obj memory", "data-object": name }, [
        h("div", { class: "obj-name" }, `shared memory ${name} (last load or store seen)`),
        h("div", { class: "kv" }, [...cells.entries()].sort((x, y) => x[0] - y[0]).map(([off, c]) =>
          h("span", { class: "chip cell" }, [`+${off}: `, h("strong", {}, String(c.v)), ` (${c.by} ${c.how})`]))),
      ]));
    }
    const sigs = [...pending.entries()].filter(([, v]) => v.length);
    if ([...pending.keys()].length) {
      pics.append(h("div", { class: "obj signals", "data-object": "pending-signals" }, [
        h("div", { class: "obj-name" }, "pending signals (sent, not yet delivered)"),
        sigs.length ? h("div", { class: "kv" }, sigs.map(([p, list]) => h("span", { class: "chip pending" }, `${p}: ${list.join(", ")}`)))
          : h("span", { class: "muted" }, "none pending"),
      ]));
    }
    if (!pics.childElementCount) pics.append(h("p", { class: "muted" }, ev ? "No kernel object recorded yet at this step." : "Move the slider to step through the run."));
    on.step(k === events.length ? null : seq);
  };
  const go = (k) => draw(Math.max(0, Math.min(events.length, k)));
  slider.addEventListener("input", () => go(Number(slider.value)));
  prev.addEventListener("click", () => go(Number(slider.value) - 1));
  next.addEventListener("click", () => go(Number(slider.value) + 1));
  draw(events.length);
  return {
    /** Show the step of event `seq`. */
    set(seq) { const i = events.findIndex((e) => e.seq === seq); if (i >= 0) go(i + 1); },
    key(e) {
      if (e.key === "," || e.key === "<") { go(Number(slider.value) - 1); return true; }
      if (e.key === "." || e.key === ">") { go(Number(slider.value) + 1); return true; }
      return false;
    },
  };
}
