// The lab page: wires the catalog, the form, runs, and the views of a trace together.

import { $, $$, clear, h } from "./dom.js";
import * as api from "./api.js";
import { renderGallery } from "./gallery.js";
import { renderForm, DEFAULT_WALL_MS } from "./params-form.js";
import { buildModel } from "./trace-model.js";
import { renderDiagram } from "./sequence-diagram.js";
import { renderTable } from "./event-table.js";
import { renderObservations, renderChecks } from "./observations.js";
import { renderObjects } from "./object-chart.js";
import { createEditor } from "./scenario-editor.js";
import { createTip, eventDetails } from "./inspector.js";
import { presetHash, scenarioHash, runHash, recipeOf, readHash, setHash } from "./share.js";
import { downloadTrace, downloadChrome, chromeSupported, markChromeUnsupported } from "./trace-export.js";
import * as banner from "./outcome.js";
import { createLiveView } from "./live-progress.js";
import { benchFigures, hasBenchFigures, renderBenchChart } from "./bench-chart.js";
import { renderStepper } from "./stepper.js";
import { createGrading } from "./grade-flow.js";
import { createProgramFlow } from "./program-flow.js";
import { renderProgramOutput } from "./program-output.js";
import { refreshHealth, watchHealth } from "./health.js";

/** The run the page opens on: a real trace of pipe.hello recorded by this server's build. */
const EXAMPLE = { id: "pipe.hello", url: "examples/pipe.hello.json" };

const state = {
  experiments: [],
  current: null,        // the experiment whose form is shown
  form: null,
  gallery: null,
  body: null,           // the request that produced the trace shown
  trace: null,
  model: null,
  mode: "order",
  diagram: null,
  table: null,
  observations: null,
  checks: null,         // the checks panel of the trace shown (when its request had checks)
  selected: null,
  evidence: new Set(),
  runCounter: 0,
  appliedHash: null,
  zoom: 1,
  stepper: null,
  example: false,       // the trace shown is the recorded example, not a run of this visit
};

const tip = createTip($("#event-tip"));
const bannerEl = $("#banner");
const editor = createEditor($("#editor"), {
  onRun: runScenario, onClose: closeEditor, onGrade: (body) => grading.grade(body),
  onInvalid: (err) => { fadeResults(); banner.showError(bannerEl, err, { title: "⚠ Not run" }); },
});

/** Results of an earlier run stay readable but faded, under a banner saying this run failed. */
function fadeResults() {
  $("#results").classList.toggle("stale", Boolean(state.trace));
}
const narrow = window.matchMedia("(max-width: 900px)");
const live = createLiveView($("#live"));

/** Long runs are streamed, with live progress: measurements, and runs given more than the default time. */
function isLongRun(body) {
  return /^bench\./.test(body.experiment || "") || (body.limits?.wall_ms ?? 0) > DEFAULT_WALL_MS;
}

// ---- choosing an experiment -------------------------------------------------------------------

function showExperiment(exp, initialParams = {}, wallMs) {
  state.current = exp;
  $("#exp-title").textContent = exp.title || exp.id;
  clear($("#exp-claim")).append(exp.claim || "", " ", h("span", { class: "exp-id" }, [exp.id, exp.seed ? ` · notes ${exp.seed}` : ""]));
  // Where the course notes and the kernel disagree, say so beside the claim.
  const corrections = clear($("#exp-corrections"));
  corrections.hidden = !(exp.corrections || []).length;
  for (const c of exp.corrections || []) {
    corrections.append(h("li", {}, [
      h("strong", {}, `Note ${c.note} says: `), c.says, h("br"), h("strong", {}, "The kernel: "), c.kernel,
      c.observation ? h("span", { class: "exp-id" }, ` · shown by ${c.observation}`) : "",
    ]));
  }
  state.form = renderForm($("#params"), exp, initialParams, wallMs);
  $("#params-form").hidden = false;
  $("#c-editor").hidden = true;
  programFlow.deselect();
  closeEditor({ keepFocus: true });
  state.gallery?.setCurrent(exp.id);
  document.title = `${exp.title || exp.id} — IPC Lab`;
}

function pick(exp) {
  showExperiment(exp);
  $("#results").classList.toggle("stale", Boolean(state.trace) && state.trace.run?.experiment !== exp.id);
  setHash(presetHash(exp.id), { push: true });
  state.appliedHash = location.hash;
  if (narrow.matches) $("#gallery-details").open = false;
  $("#run").focus();
}

// ---- running ----------------------------------------------------------------------------------

async function submit(body, onError, opts = {}) {
  const ticket = ++state.runCounter;
  const long = isLongRun(body);
  banner.showBusy(bannerEl, long ? "Running in the sandbox — live progress below…" : "Running in the sandbox…");
  $("#run").disabled = true;
  editor.setBusy(true);
  if (long) live.start(body.experiment ? `Live: ${body.experiment}` : body.programs ? "Live: C programs" : "Live: custom scenario");
  else live.stop();
  let keepLive = false;
  try {
    const trace = long
      ? await api.runStream(body, (line) => { if (ticket === state.runCounter) live.line(line); })
      : await api.run(body);
    if (ticket !== state.runCounter) return null;
    showTrace(trace, body, opts);
    return trace;
  } catch (err) {
    if (ticket !== state.runCounter) return null;
    if (!(err instanceof api.ApiError)) throw err;
    fadeResults();
    if (long && err.code === "network" && live.counts().events > 0) {
      keepLive = true;
      live.brokeOff(err.message);
    }
    onError(err);
    if (err.code === "network") refreshHealth($("#health"));
    return null;
  } finally {
    if (ticket === state.runCounter) {
      if (!keepLive) live.stop();
      $("#run").disabled = false;
      editor.setBusy(false);
    }
  }
}

/** Run the form. A run from the form is a new history entry, unless it only completes a choice made
 *  from the gallery (or a link being opened): then it replaces that entry. */
async function runPreset({ push = true } = {}) {
  if (!state.current || !state.form) return;
  const read = state.form.read();
  if (!read) {
    banner.showError(bannerEl, { message: "Fix the marked field first." });
    state.form.focusFirstError();
    return;
  }
  const body = { experiment: state.current.id, params: read.params };
  if (read.limits) body.limits = read.limits;
  const wall = read.limits && read.limits.wall_ms !== DEFAULT_WALL_MS ? read.limits.wall_ms : undefined;
  const trace = await submit(body, (err) => {
    // every error the server lists beside its own field (one, from a server without `error.errors`)
    const beside = err.errors.map((e) => state.form.showError(e.path, e.message)).some(Boolean);
    banner.showError(bannerEl, beside ? { ...err, message: `${err.message} (see the marked field)` } : err);
    if (beside) state.form.focusFirstError();
  });
  if (trace) {
    if (document.activeElement === document.body || document.activeElement?.id === "run") bannerEl.focus({ preventScroll: false });
    const bare = location.hash === presetHash(state.current.id);
    nameRun(trace, presetHash(state.current.id, read.params, wall), { push: push && !bare });
  }
}

/** Put the run shown in the address (`#run=ID`, then the recipe that "Run again" uses). */
function nameRun(trace, recipe, { push }) {
  setHash(runHash(trace.run.id, recipe), { push });
  state.appliedHash = location.hash;
  $("#share-url").value = location.href;
}

/** "Run again": the request behind the trace on screen, run anew (a new run, a new address). */
async function runAgain() {
  const body = state.body;
  if (body && body.scenario) return runScenario(body);
  if (body && body.programs) return programFlow.run(body);
  if (!body) return runPreset();
  const recipe = recipeOf(location.hash);
  const trace = await submit(body, (err) => banner.showError(bannerEl, err));
  if (trace) nameRun(trace, recipe, { push: true });
}

async function runScenario(body) {
  editor.clearError();
  const trace = await submit(body, (err) => {
    editor.showError(err);
    banner.showError(bannerEl, err);
  });
  if (trace) {
    const wall = body.limits && body.limits.wall_ms !== DEFAULT_WALL_MS ? body.limits.wall_ms : undefined;
    nameRun(trace, scenarioHash(body.scenario, wall), { push: true });
  }
}

// ---- the scenario editor ----------------------------------------------------------------------

async function openEditor() {
  let scenario = state.trace && state.body && (state.body.scenario || state.body.experiment === state.current?.id) ? state.trace.scenario : null;
  if (!scenario && state.current) {
    try {
      scenario = (await api.getExperiment(state.current.id)).scenario;
    } catch (err) {
      banner.showError(bannerEl, err);
      return;
    }
  }
  $("#params-form").hidden = true;
  $("#c-editor").hidden = true;
  $("#editor").hidden = false;
  editor.setCanClose(true);
  editor.open(scenario || { channels: [], processes: [{ name: "main", steps: [] }] },
    state.body && state.body.limits ? state.body.limits.wall_ms : undefined, state.current);
}

function closeEditor({ keepFocus = false } = {}) {
  $("#editor").hidden = true;
  if (state.current) $("#params-form").hidden = false;
  if (!keepFocus && state.current) $("#edit-scenario").focus();
}

// ---- showing a trace ----------------------------------------------------------------------------

function showTrace(trace, body, { example = false, keepGrade = false } = {}) {
  if (!keepGrade) grading.hide();
  state.example = example;
  $("#example-note").hidden = !example;
  state.trace = trace;
  state.body = body;
  state.model = buildModel(trace);
  state.selected = null;
  state.evidence = new Set();
  banner.showOutcome(bannerEl, trace, { example });
  $("#results").hidden = false;
  $("#results").classList.remove("stale");
  drawDiagram();
  state.table = renderTable($("#events"), state.model, { hover, select });
  state.observations = renderObservations($("#observations"), trace, (seqs) => { state.checks?.clear(); highlight(seqs); });
  $("#checks-panel").hidden = !Array.isArray(trace.checks);
  state.checks = renderChecks($("#checks"), trace, (seqs) => { state.observations?.clear(); highlight(seqs); });
  renderObjects($("#objects"), trace, state.model.runEnd, select);
  state.stepper = renderStepper($("#stepper"), state.model, { step: (seq) => state.diagram?.step(seq) });
  drawBench();
  renderProgramOutput($("#program-output"), trace);
  clear($("#selected")).append(h("p", { class: "muted" }, "Click an event in the diagram or the table (or focus it and press Enter)."));
  $("#share-url").value = location.href;
  $("#results").dataset.runId = example ? "" : (trace.run && trace.run.id) || "";
  $("#results").dataset.example = example ? "true" : "";
  $("#results").dataset.gradeRun = "";
  $("#diagram-title").dataset.gradeRun = "";
  $("#run-again").disabled = !body;
  updateChromeButton();
}

/** The measured figures of a measurement run, as a bar chart; hidden for runs without any. */
function drawBench() {
  const figures = benchFigures(state.trace?.events);
  const panel = $("#bench");
  panel.hidden = !hasBenchFigures(figures);
  if (panel.hidden) { clear($("#bench-chart")); return; }
  renderBenchChart($("#bench-chart"), figures, { width: $("#bench-chart").clientWidth });
}

/** Draw the diagram beside the side panels when it fits there, else full width with the panels below. */
function drawDiagram() {
  if (!state.model) return;
  tip.hide();
  const results = $("#results"), root = $("#diagram");
  results.classList.toggle("wide", state.model.processes.length > 3);
  state.diagram = renderDiagram(root, state.model, state.mode, { hover, select });
  if (!results.classList.contains("wide") && root.scrollWidth > root.clientWidth + 1) {
    results.classList.add("wide");
    state.diagram = renderDiagram(root, state.model, state.mode, { hover, select });
  }
  if (state.zoom !== 1) setZoom(state.zoom);
  if (state.evidence.size) state.diagram.setHighlight(state.evidence);
  if (state.selected) state.diagram.select(state.selected);
}

function setZoom(z) {
  if (!state.diagram) return;
  state.zoom = state.diagram.zoom(z);
  $("#zoom-level").textContent = `${Math.round(state.zoom * 100)}%`;
}

function hover(seq, el) {
  const ev = seq && state.model?.bySeq.get(seq);
  if (!ev || !el) { tip.hide(); return; }
  tip.show(ev, state.model, el);
}

function select(seq) {
  const ev = state.model?.bySeq.get(seq);
  if (!ev) return;
  state.selected = state.selected === seq ? null : seq;
  state.diagram.select(state.selected);
  state.table.select(state.selected);
  clear($("#selected")).append(state.selected ? eventDetails(ev, state.model)
    : h("p", { class: "muted" }, "Click an event in the diagram or the table (or focus it and press Enter)."));
}

function highlight(seqs) {
  state.evidence = seqs;
  state.diagram.setHighlight(seqs);
  state.table.setHighlight(seqs);
}

async function updateChromeButton() {
  const btn = $("#download-chrome");
  const ok = await chromeSupported();
  btn.disabled = !ok || !state.trace || state.example;
  btn.title = ok ? "Download this run as Chrome Trace Event JSON (opens in Perfetto); nothing runs again"
    : "This server does not offer Chrome traces yet.";
}

// ---- the address ------------------------------------------------------------------------------

async function applyHash() {
  if (location.hash === state.appliedHash) return;
  state.appliedHash = location.hash;
  const want = readHash();
  if (!want) return;
  if (want.error) { banner.showError(bannerEl, { message: want.error }); return; }
  if (want.grade) { await grading.showStored(want.grade); return; }
  if (want.scenario) {
    state.current = null;
    state.gallery?.setCurrent(null);
    $("#exp-title").textContent = "Custom scenario";
    clear($("#exp-claim")).append("A scenario from a shared link. Edit it and run it again.");
    $("#params-form").hidden = true;
    $("#c-editor").hidden = true;
    $("#editor").hidden = false;
    editor.setCanClose(false);
    editor.open(want.scenario, want.wallMs);
    const body = { scenario: want.scenario, ...(want.wallMs ? { limits: { wall_ms: want.wallMs } } : {}) };
    if (want.run) await showStored(want.run, body);
    else await runScenario(body);
    return;
  }
  if (want.programs) { await programFlow.openLink(want); return; }
  if (!want.experiment) { await showStored(want.run, null); return; }
  const exp = state.experiments.find((e) => e.id === want.experiment);
  if (!exp) {
    banner.showError(bannerEl, { code: "unknown_experiment", message: `This server has no experiment "${want.experiment}".` });
    return;
  }
  showExperiment(exp, want.params, want.wallMs);
  if (want.run) await showStored(want.run, null);
  else await runPreset({ push: false });
}

/** Show the stored run `id` exactly as it was answered: fetched, never run. `body` is the request that
 *  "Run again" sends (null: the form's). */
async function showStored(id, body) {
  const ticket = ++state.runCounter;
  banner.showBusy(bannerEl, "Loading the stored run…");
  live.stop();
  try {
    const trace = await api.getRun(id);
    if (ticket !== state.runCounter) return;
    if (!state.current && !body && trace.run.experiment) {
      const exp = state.experiments.find((e) => e.id === trace.run.experiment);
      if (exp) showExperiment(exp);
    }
    // A stored run of C programs keeps no sources: there is nothing to run again from a link alone.
    const programs = Boolean(trace.run.tracer) && !body;
    showTrace(trace, body ?? (trace.run.experiment || programs ? null : { scenario: trace.scenario }));
    $("#run-again").disabled = programs;
    $("#share-url").value = location.href;
  } catch (err) {
    if (ticket !== state.runCounter) return;
    if (!(err instanceof api.ApiError)) throw err;
    $("#results").classList.toggle("stale", Boolean(state.trace));
    banner.showError(bannerEl, err.status === 404
      ? { ...err, message: `This run is not stored on this server (${err.message}). Nothing was run; "Run" makes a new one.` }
      : err);
  }
}

const programFlow = createProgramFlow({
  state, bannerEl, narrow, submit, nameRun, showStored,
  beforeShow: () => { $("#params-form").hidden = true; $("#editor").hidden = true; },
});

const grading = createGrading({
  state, bannerEl, editor, fade: fadeResults, showTrace, submit,
  nameRun: (trace) => nameRun(trace, trace.scenario ? scenarioHash(trace.scenario) : "", { push: true }),
  pressCheck: (id) => state.checks?.press(id),
});

/** Open on a ready example: a recorded pipe.hello run, marked as such, until the student runs one. */
async function showExample() {
  const exp = state.experiments.find((e) => e.id === EXAMPLE.id);
  if (!exp) return;
  let trace;
  try {
    const r = await fetch(EXAMPLE.url);
    if (!r.ok) return;
    trace = await r.json();
  } catch { return; }
  if (state.trace || location.hash) return;   // a run or a link came first
  showExperiment(exp);
  clear($("#example-note")).append("An example run, recorded earlier on this lab's server: read it, step through it, then press ",
    h("strong", {}, "Run"), " to run it for real now — or pick another experiment.");
  showTrace(trace, { experiment: exp.id, params: {} }, { example: true });
}

// ---- start --------------------------------------------------------------------------------------

async function start() {
  $("#params-form").addEventListener("submit", (e) => { e.preventDefault(); runPreset(); });
  $("#edit-scenario").addEventListener("click", openEditor);
  $$("input[name=mode]").forEach((r) => r.addEventListener("change", () => { state.mode = r.value; drawDiagram(); }));
  $("#download-json").addEventListener("click", () => state.trace && downloadTrace(state.trace));
  $("#download-chrome").addEventListener("click", async () => {
    try {
      await downloadChrome(state.trace);
    } catch (err) {
      if (err.path === "format") { markChromeUnsupported(); updateChromeButton(); }
      banner.showError(bannerEl, err);
    }
  });
  $("#run-again").addEventListener("click", runAgain);
  $("#copy-link").addEventListener("click", async () => {
    const input = $("#share-url");
    try { await navigator.clipboard.writeText(input.value); $("#copy-link").textContent = "Copied"; } catch {
      input.select();
      $("#copy-link").textContent = "Press Ctrl+C";
    }
    setTimeout(() => ($("#copy-link").textContent = "Copy"), 2000);
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") tip.hide(); });
  let resizeTimer;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { drawDiagram(); drawBench(); }, 150); });
  window.addEventListener("hashchange", applyHash);
  window.addEventListener("popstate", applyHash);
  if (narrow.matches) $("#gallery-details").open = !location.hash;

  watchHealth($("#health"));
  $("#zoom-in").addEventListener("click", () => setZoom(state.zoom * 1.25));
  $("#zoom-out").addEventListener("click", () => setZoom(state.zoom / 1.25));
  $("#zoom-fit").addEventListener("click", () => setZoom(state.zoom < 1 ? 1 : "fit"));
  $("#results").addEventListener("keydown", (e) => {
    if (e.target.matches("input[type=text], input[type=search], textarea")) return;
    if (state.stepper?.key(e)) e.preventDefault();
  });
  $("#exp-search").addEventListener("input", () => {
    const q = $("#exp-search").value;
    const n = state.gallery?.filter(q);
    $("#exp-search-count").textContent = q.trim() ? `${n} of ${state.experiments.length} match` : "";
  });

  try {
    state.experiments = await api.listExperiments();
  } catch (err) {
    clear($("#gallery")).append(h("p", { class: "muted" }, "The catalog could not be loaded."));
    banner.showError(bannerEl, err);
    return;
  }
  state.gallery = renderGallery($("#gallery"), state.experiments, pick);
  programFlow.start();
  if (!location.hash) await showExample();
  document.body.dataset.ready = "true";
  await applyHash();
}

start();
