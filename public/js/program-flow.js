// C programs on the page: the gallery of examples, the editor (c-editor.js) shown in place of the
// preset form, a run of its programs (compile errors marked on their lines, the server's validation
// errors beside their fields), and a link's recipe (`#run=ID&programs=…`) opened again.

import { $, clear, h } from "./dom.js";
import * as api from "./api.js";
import * as banner from "./outcome.js";
import { createCEditor, renderProgramGallery } from "./c-editor.js";
import { programsHash, decodePrograms } from "./share.js";

/**
 * deps: state (the page's), bannerEl, narrow (the phone media query), submit(body, onError) → trace|null,
 * nameRun(trace, recipe, {push}), showStored(id, body), beforeShow() (hide the other editors).
 * Returns { start(), show(entry), run(body), openLink(want), deselect() }.
 */
export function createProgramFlow({ state, bannerEl, narrow, submit, nameRun, showStored, beforeShow }) {
  const editor = createCEditor($("#c-editor"), {
    onRun: run,
    onInvalid: (message) => banner.showError(bannerEl, { message }, { title: "⚠ Not run" }),
  });
  let gallery = null;

  function heading(title, claim, id) {
    state.current = null;
    state.gallery?.setCurrent(null);
    gallery?.setCurrent(id ?? null);
    $("#exp-title").textContent = title;
    clear($("#exp-claim")).append(claim, id ? h("span", { class: "exp-id" }, ` ${id}`) : "");
    $("#exp-corrections").hidden = true;
    beforeShow();
    $("#c-editor").hidden = false;
    document.title = `${title} — IPC Lab`;
  }

  /** An example's programs (or a blank program when `entry` is null) in the editor. */
  function show(entry) {
    heading(entry ? entry.title : "Your own C program",
      entry ? entry.claim : "Write C that uses pipes, shared memory, signals, queues or sockets: each call is traced.", entry?.id);
    editor.open(entry);
    if (narrow.matches) { $("#c-gallery-details").open = false; $("#gallery-details").open = false; }
  }

  /** Run `body` ({programs, limits?}); its address names the stored run, then the programs as a recipe. */
  async function run(body) {
    editor.clearDiagnostics();
    const recipe = await programsHash(body.programs, body.limits?.wall_ms).catch(() => "");
    const trace = await submit(body, (err) => {
      // every error whose path names a field (programs[1].args[0], programs[0].stdin…) beside it
      const beside = editor.showErrors(err.errors);
      banner.showError(bannerEl, beside ? { ...err, message: `${err.message} (see the marked field)` } : err);
    });
    if (!trace) return;
    editor.showDiagnostics(trace.run.diagnostics || []);
    if (trace.run.outcome === "compile_error") {
      $("#results").hidden = true;
      banner.showError(bannerEl, { code: "compile_error", message: editor.summary() }, { title: "⚠ Did not compile" });
    }
    else nameRun(trace, recipe, { push: true });
  }

  /** A link's `programs=` recipe: the editor holds them; the stored run named beside them is shown (nothing
   *  runs), or without one they are run. */
  async function openLink(want) {
    let programs;
    try {
      programs = await decodePrograms(want.programs);
    } catch {
      banner.showError(bannerEl, { message: "The link's programs could not be decoded." });
      return;
    }
    heading("C programs from a link", "Programs from a shared link: edit them and run them again.");
    editor.load(programs, want.wallMs);
    const body = { programs, ...(want.wallMs ? { limits: { wall_ms: want.wallMs } } : {}) };
    if (want.run) await showStored(want.run, body);
    else await run(body);
  }

  function start() {
    $("#c-blank").addEventListener("click", () => show(null));
    api.listPrograms().then((entries) => { gallery = renderProgramGallery($("#c-gallery"), entries, show); },
      () => clear($("#c-gallery")).append(h("p", { class: "muted" }, "The example programs could not be loaded.")));
  }

  return { start, show, run, openLink, deselect: () => gallery?.setCurrent(null) };
}
