// A grade on the page (POST /api/v1/grades, GET /api/v1/grades/{id}): the score, each check's passes
// over the repeats and its first failure, and the first failing run with a button that replays its
// schedule — saying honestly what a replay repeats and what it cannot.

import { h, clear } from "./dom.js";
import { plural } from "./format.js";

/** The index of the run `failing_trace` is (the lowest first failure), or null when none failed. */
export function failingRunIndex(grade) {
  const runs = (grade.checks || []).map((c) => c.first_failure?.run).filter((r) => Number.isInteger(r));
  return grade.failing_trace && runs.length ? Math.min(...runs) : null;
}

/**
 * How to replay the first failing run: {body, label, note, exact}. The body is the grade's request
 * (when the page made it; else the failing run's own scenario and time limit, without checks — a grade
 * opened from a link does not keep its request) with the failing run's recorded `schedule`.
 */
export function replayPlan(grade, request) {
  const trace = grade.failing_trace;
  if (!trace) return null;
  const index = failingRunIndex(grade);
  const schedule = trace.run?.schedule || { ...grade.schedule, seed: (grade.schedule?.seed ?? 1) + (index ?? 0) };
  const base = request
    ? Object.fromEntries(["experiment", "params", "scenario", "limits", "checks"].filter((k) => request[k] !== undefined).map((k) => [k, request[k]]))
    : { scenario: trace.scenario, limits: { wall_ms: trace.run?.limits?.wall_ms } };
  const body = { ...base, schedule };
  const jitter = schedule.jitter_us || 0, cpus = schedule.cpus || "any";
  const placement = cpus === "any" ? "" : `, the same CPU placement (${cpus === "one" ? "every process on one CPU" : "one CPU per process"})`;
  const kernel = "The kernel's own scheduling is not recorded and does not replay, so the failure may or may not come back.";
  const noChecks = request ? "" : " This grade was opened from a link, which does not keep its checks: the replay runs the failing run's scenario without them.";
  if (jitter > 0) {
    return {
      body, exact: false, schedule, index,
      // the label itself says a replay is not exact: only the delays are the same
      label: `Replay this schedule (seed ${schedule.seed}: the delays, not the kernel's timing)`,
      note: `Runs once more with run ${index}'s recorded schedule: the same delays before every step (seed ${schedule.seed}, up to ${jitter} µs)${placement}. ${kernel}${noChecks}`,
    };
  }
  return {
    body, exact: false, schedule, index,
    label: "Run it again (no schedule to replay)",
    note: `This grade perturbed nothing (jitter 0 µs${placement}): every run had the same schedule, so a "replay" is just one more run. ${kernel}${noChecks}`,
  };
}

function scheduleText(s = {}) {
  return `seed ${s.seed ?? 1}${s.jitter_us ? `, up to ${s.jitter_us} µs before each step` : ", no jitter"}, CPUs ${s.cpus || "any"}`;
}

/**
 * Render `grade` in `root`. `onShowCheck(id)` shows a check's result in the failing run (shown below);
 * `onReplay(plan)` replays it. Returns { plan }.
 */
export function renderGrade(root, grade, { request = null, onShowCheck, onReplay }) {
  clear(root);
  const index = failingRunIndex(grade);
  const plan = replayPlan(grade, request);
  const outcomes = Object.entries(grade.outcomes || {}).map(([k, n]) => `${k} ${n}`).join(", ");
  root.append(
    h("h2", { id: "grade-title" }, "Grade"),
    h("p", { class: `grade-score ${grade.passed ? "passed" : "failed"}` }, [
      h("strong", {}, grade.passed ? "✓ Every check passed in every run" : "✗ Not every check passed in every run"),
      ` — score ${grade.score} of ${grade.max_score}`,
    ]),
    h("p", { class: "grade-facts muted small" },
      `${plural(grade.runs, "run")} (${outcomes || "no outcomes"}) · schedule ${scheduleText(grade.schedule)} · ${grade.duration_ms} ms${grade.id ? ` · grade ${grade.id}` : ""}`),
  );
  const rows = (grade.checks || []).map((c) => {
    const total = c.passed_runs + c.failed_runs;
    const f = c.first_failure;
    const inShown = index !== null;
    const show = inShown ? h("button", { type: "button", class: "grade-show", "data-check": c.id },
      f && f.run === index ? `Evidence in run ${index}` : `Result in run ${index}`) : null;
    show?.addEventListener("click", () => onShowCheck(c.id));
    return h("tr", { class: c.passed ? "passed" : "failed", "data-check": c.id }, [
      h("th", { scope: "row" }, [h("span", { class: `obs-mark ${c.passed ? "holds" : "fails"}`, "aria-hidden": "true" }, c.passed ? "✓ " : "✗ "),
        h("span", { class: "visually-hidden" }, c.passed ? "Passed: " : "Failed: "), c.name || c.id,
        c.name && c.name !== c.id ? h("span", { class: "obs-id" }, c.id) : null]),
      h("td", { class: "num" }, `${c.points}/${c.max_points}`),
      h("td", { class: "grade-runs" }, [
        h("span", { class: "pass-bar", "aria-hidden": "true" }, h("span", { style: `width:${total ? (100 * c.passed_runs) / total : 0}%` })),
        h("span", { class: "pass-count" }, `${c.passed_runs} of ${total} passed`),
      ]),
      h("td", { class: "grade-failure" }, [
        ...(f ? [h("span", {}, `run ${f.run} (seed ${f.seed}): `), f.message, f.hint ? h("span", { class: "check-hint" }, [h("br"), `Hint: ${f.hint}`]) : null]
          : [h("span", { class: "muted" }, "never failed")]),
        show ? h("div", {}, show) : null,
      ]),
    ]);
  });
  root.append(h("div", { class: "table-scroll grade-table-wrap" }, h("table", { class: "grade-table" }, [
    h("caption", { class: "visually-hidden" }, "Each check over the graded runs"),
    h("thead", {}, h("tr", {}, ["Check", "Points", "Runs", "First failure"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows),
  ])));
  if (!plan) {
    root.append(h("p", { class: "grade-failing" }, grade.passed
      ? "No run failed, so there is no failing run to show."
      : "No failing run was kept with this grade."));
    return { plan };
  }
  const btn = h("button", { type: "button", id: "replay", class: "primary", "aria-describedby": "replay-note" }, plan.label);
  btn.addEventListener("click", () => onReplay(plan));
  root.append(h("div", { class: "grade-failing" }, [
    h("p", {}, [h("strong", {}, `The first failing run, run ${index} (seed ${plan.schedule.seed}), is shown below`),
      " — its diagram, events and checks; press a check to see its evidence."]),
    h("div", { class: "replay" }, [btn, h("p", { id: "replay-note", class: "hint" }, plan.note)]),
  ]));
  return { plan };
}
