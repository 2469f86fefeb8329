// Grading from the page: the editor's request graded (streamed, with a count of finished runs), a
// stored grade opened from its link, and the replay of the first failing run's schedule.

import { $ } from "./dom.js";
import * as api from "./api.js";
import * as banner from "./outcome.js";
import { renderGrade } from "./grade-view.js";
import { gradeHash, setHash } from "./share.js";

/**
 * deps: state (the page's), bannerEl, editor, fade() (results of an earlier run faded), showTrace(trace,
 * body, opts), submit(body, onError, opts) → trace|null, nameRun(trace), pressCheck(id).
 */
export function createGrading({ state, bannerEl, editor, fade, showTrace, submit, nameRun, pressCheck }) {
  const root = $("#grade");
  let shown = null;   // {grade, request, plan}

  function show(grade, request) {
    root.hidden = false;
    const { plan } = renderGrade(root, grade, { request, onShowCheck: showCheck, onReplay: replay });
    shown = { grade, request, plan };
    if (grade.failing_trace) {
      showTrace(grade.failing_trace, plan.body, { keepGrade: true });
      $("#results").dataset.gradeRun = String(plan.index);
      $("#diagram-title").dataset.gradeRun = String(plan.index);
    } else {
      $("#results").hidden = true;
    }
    banner.showGrade(bannerEl, grade);
    $("#share-url").value = location.href;
    $("label[for=share-url]").textContent = grade.id ? "Link to this grade" : "Link to this run";
  }

  /** Show check `id` in the failing run: its result pressed in the checks panel, its evidence highlighted. */
  function showCheck(id) {
    if (!shown?.grade.failing_trace) return;
    if (state.trace !== shown.grade.failing_trace) showTrace(shown.grade.failing_trace, shown.plan.body, { keepGrade: true });
    pressCheck(id);
    $("#checks-panel")?.scrollIntoView({ block: "nearest" });
  }

  async function replay(plan) {
    const before = (shown.grade.failing_trace.checks || []).filter((c) => !c.passed).map((c) => c.id);
    const trace = await submit(plan.body, (err) => banner.showError(bannerEl, err, { title: "⚠ Could not replay" }), { keepGrade: true });
    if (!trace) return;
    nameRun(trace);
    $("label[for=share-url]").textContent = "Link to this run";
    const now = new Map((trace.checks || []).map((c) => [c.id, c.passed]));
    const again = before.filter((id) => now.get(id) === false), passed = before.filter((id) => now.get(id) === true);
    const parts = [`Replay of run ${plan.index}'s schedule (seed ${plan.schedule.seed}).`];
    if (again.length) parts.push(`Failed again: ${again.join(", ")}.`);
    if (passed.length) parts.push(`Passed this time: ${passed.join(", ")} — the failure depends on how the kernel scheduled the processes, which does not replay.`);
    if (!now.size) parts.push("The replay ran without checks.");
    banner.addNote(bannerEl, parts.join(" "));
    $("#results").dataset.gradeRun = "";
    $("#diagram-title").dataset.gradeRun = "";
  }

  return {
    /** Grade the editor's request `body` (POST /api/v1/grades, streamed). */
    async grade(body) {
      const ticket = ++state.runCounter;
      const total = body.repeat ?? 20;
      let done = 0, failed = 0;
      editor.clearError();
      editor.setBusy(true);
      banner.showBusy(bannerEl, `Grading: 0 of ${total} runs done…`);
      let grade;
      try {
        grade = await api.grade(body, (line) => {
          if (line.type !== "run" || ticket !== state.runCounter) return;
          done++;
          if (!line.passed) failed++;
          banner.showBusy(bannerEl, `Grading: ${done} of ${total} runs done${failed ? `, ${failed} with a failed check` : ""}…`);
        });
      } catch (err) {
        if (ticket !== state.runCounter) return;
        if (!(err instanceof api.ApiError)) throw err;
        fade();
        editor.showError(err);
        banner.showError(bannerEl, err, { title: "⚠ Not graded" });
        return;
      } finally {
        if (ticket === state.runCounter) editor.setBusy(false);
      }
      if (ticket !== state.runCounter) return;
      if (grade.id) { setHash(gradeHash(grade.id), { push: true }); state.appliedHash = location.hash; }
      show(grade, body);
      // focus follows the answer, as after a run (unless the student already moved on)
      if (document.activeElement === document.body || document.activeElement?.id === "scenario-grade") bannerEl.focus();
    },
    /** Open the stored grade `id` (GET /api/v1/grades/{id}); nothing is graded again. */
    async showStored(id) {
      const ticket = ++state.runCounter;
      banner.showBusy(bannerEl, "Loading the stored grade…");
      try {
        const grade = await api.getGrade(id);
        if (ticket !== state.runCounter) return;
        if (!state.current) {
          $("#exp-title").textContent = "A stored grade";
          $("#exp-claim").textContent = "Graded earlier on this server and opened from its link: nothing was graded again.";
        }
        show(grade, null);
      } catch (err) {
        if (ticket !== state.runCounter) return;
        if (!(err instanceof api.ApiError)) throw err;
        fade();
        banner.showError(bannerEl, err.status === 404
          ? { ...err, message: `This grade is not stored on this server (${err.message}). Nothing was graded.` } : err);
      }
    },
    hide() {
      root.hidden = true;
      shown = null;
      $("label[for=share-url]").textContent = "Link to this run";
    },
  };
}
