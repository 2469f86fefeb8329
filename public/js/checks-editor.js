// The checks editor beside the scenario editor: a JSON array of checks (POST /api/v1/runs `checks`,
// POST /api/v1/grades), a starter example made from the scenario, and a template per check kind — the
// kinds the server lists in its own openapi.yaml.

import { h, clear } from "./dom.js";
import { createCodeArea } from "./code-area.js";
import { listCheckKinds } from "./api.js";

/** A check of `kind` filled in with names from `scenario` (a template to edit, not a claim). */
export function checkTemplate(kind, scenario, experiment) {
  const procs = (scenario?.processes || []).map((p) => p.name);
  const chans = (scenario?.channels || []).map((c) => c.name);
  const steps = (scenario?.processes || []).flatMap((p) => (p.steps || []).map((s) => ({ ...s, process: p.name })));
  const reader = steps.find((s) => /^(read|recv|recvfrom|recvmsg|msgrcv|mq_receive)$/.test(s.op));
  const writer = steps.find((s) => /^(write|send|sendto|sendmsg|msgsnd|mq_send)$/.test(s.op));
  const written = writer && typeof writer.data === "string" ? writer.data.replace(/\0+$/, "") : "";
  switch (kind) {
    case "outcome": return { kind, is: "ok" };
    case "exit": return { kind, process: procs[1] || procs[0] || "main", code: 0 };
    case "call": return { kind, match: { call: reader?.op || "read", process: reader?.process || procs[0] || "main" }, count: { min: 1 } };
    case "no_call": return { kind, match: { call: reader?.op || "read", errno: "EINTR" } };
    case "order": return { kind, first: { call: writer?.op || "write" }, then: { call: reader?.op || "read" } };
    case "received": return { kind, process: reader?.process || procs[0] || "main", channel: reader?.channel || chans[0] || "p", data: [written || "Hello"] };
    case "observation": {
      const id = experiment?.observations?.[0];
      return id ? { kind, observation: id } : { kind, observation: "pipe.hello.message_received", roles: {} };
    }
    default: return { kind };
  }
}

/** A starter set of checks for `scenario` (and the experiment it came from, if any). */
export function starterChecks(scenario, experiment) {
  const checks = [
    { id: "ends_ok", kind: "outcome", is: "ok", hint: "The run should end by itself, within its time limit." },
    { id: "no_deadlock", kind: "no_deadlock" },
  ];
  const call = checkTemplate("call", scenario, experiment);
  if ((scenario?.processes || []).some((p) => (p.steps || []).some((s) => s.op === call.match.call))) {
    checks.push({ id: `${call.match.process}_${call.match.call}s`, ...call, points: 2 });
  }
  for (const obs of (experiment?.observations || []).slice(0, 2)) checks.push({ id: obs, kind: "observation", points: 2 });
  return checks;
}

/** The checks editor in `root`. Returns { el, area, read(), open(scenario, experiment), setScenario() }. */
export function createChecksEditor() {
  const area = createCodeArea({
    id: "checks-text", errorsId: "checks-error", label: "Checks (JSON)", rows: 18,
    hint: "A list of checks, each {id, kind, …, points}. \"Run scenario\" runs once and shows each check; \"Grade\" repeats the run under perturbed schedules.",
  });
  const kind = h("select", { id: "check-kind" }, [h("option", { value: "" }, "loading…")]);
  const add = h("button", { type: "button", id: "check-add" }, "Add this check");
  const starter = h("button", { type: "button", id: "checks-starter" }, "Starter checks");
  const about = h("details", { class: "check-kinds" }, [h("summary", {}, "What each kind takes"), h("p", { id: "check-kinds-about", class: "hint" }, "")]);
  const note = h("p", { id: "checks-note", class: "hint", role: "status" });
  const el = h("div", { class: "checks-editor" }, [
    area.el,
    h("div", { class: "editor-actions" }, [h("label", { for: "check-kind" }, "check kind"), kind, add, starter]),
    note, about,
  ]);
  let scenario = null, experiment = null, touched = false;
  area.textarea.addEventListener("input", () => { touched = true; });

  let kindsAsked = false;
  /** The kinds come from the server's openapi.yaml, fetched the first time the editor opens (not on load). */
  const loadKinds = () => {
    if (kindsAsked) return;
    kindsAsked = true;
    listCheckKinds().then(({ kinds, about: text }) => {
      clear(kind);
      if (!kinds.length) {
        kind.append(h("option", { value: "" }, "(the server's kinds could not be read)"));
        add.disabled = true;
        return;
      }
      for (const k of kinds) kind.append(h("option", { value: k }, k));
      // the schema's description, its `names` set as code
      about.querySelector("p").append(...text.split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part)));
    });
  };

  const parse = () => {
    const text = area.value.trim();
    if (!text) return { checks: [] };
    try {
      const v = JSON.parse(text);
      return Array.isArray(v) ? { checks: v } : { error: "The checks must be a JSON list: [ {…}, {…} ]." };
    } catch (e) {
      return { error: e.message };
    }
  };
  const setText = (checks) => { area.setValue(checks.length ? JSON.stringify(checks, null, 2) : ""); };

  add.addEventListener("click", () => {
    const p = parse();
    if (p.error) { note.textContent = `Fix the checks' JSON first (${p.error}); nothing was added.`; return; }
    const ids = new Set(p.checks.map((c) => c && c.id));
    let n = 1;
    while (ids.has(`${kind.value}_${n}`)) n++;
    setText([...p.checks, { id: `${kind.value}_${n}`, ...checkTemplate(kind.value, scenario, experiment) }]);
    touched = true;
    note.textContent = `Added a ${kind.value} check (${kind.value}_${n}) at the end: edit its names and values.`;
  });
  starter.addEventListener("click", () => {
    setText(starterChecks(scenario, experiment));
    touched = true;
    note.textContent = "Replaced the checks with a starter set made from this scenario.";
  });

  return {
    el, area,
    /** The checks to send: {checks} (empty when the text is blank) or {error} for text that is not a list. */
    read: parse,
    /** A new scenario in the editor: keep checks the student wrote, else start from the starter set. */
    open(sc, exp) {
      loadKinds();
      scenario = sc;
      experiment = exp;
      note.textContent = "";
      if (!touched || !area.value.trim()) { setText(starterChecks(sc, exp)); touched = false; }
    },
    setChecks(checks) { setText(checks); touched = true; },
  };
}
