// The page's address holds what ran. After a run it names the stored run first, so that a link
// shows exactly that trace again (nothing runs); the rest is the recipe "Run again" uses:
//   #run=<run id>&experiment=pipe.byte_stream&write_sizes=10,10,10,10&read_sizes=5,15,15,5&wall_ms=2000
// Without `run`, a link is a recipe, and opening it runs it:
//   #experiment=pipe.byte_stream&write_sizes=10,10,10,10&read_sizes=5,15,15,5&wall_ms=2000
//   #scenario=<base64url of the scenario JSON>&wall_ms=500
// A stored grade: #grade=<grade id> (fetched, never graded again).

const RESERVED = new Set(["run", "experiment", "scenario", "wall_ms", "grade"]);

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

function paramText(v) {
  return Array.isArray(v) ? v.join(",") : String(v);
}

export function presetHash(id, params = {}, wallMs) {
  const q = new URLSearchParams({ experiment: id });
  for (const [k, v] of Object.entries(params)) if (!RESERVED.has(k)) q.set(k, paramText(v));
  if (wallMs !== undefined && wallMs !== null) q.set("wall_ms", String(wallMs));
  return "#" + q.toString().replace(/%2C/gi, ",");
}

export function scenarioHash(scenario, wallMs) {
  const q = new URLSearchParams({ scenario: toBase64Url(JSON.stringify(scenario)) });
  if (wallMs !== undefined && wallMs !== null) q.set("wall_ms", String(wallMs));
  return "#" + q.toString();
}

/** The address of the stored run `id`, followed by `recipe` (a preset or scenario hash) for "Run again". */
export function runHash(id, recipe = "") {
  const rest = recipe.replace(/^#/, "");
  return `#run=${encodeURIComponent(id)}${rest ? "&" + rest : ""}`;
}

/** The address of the stored grade `id`. */
export function gradeHash(id) {
  return `#grade=${encodeURIComponent(id)}`;
}

/** `hash` without its `run`: the recipe alone. */
export function recipeOf(hash) {
  return "#" + hash.replace(/^#/, "").split("&").filter((part) => !part.startsWith("run=")).join("&");
}

/** What the address asks for: {experiment, params} or {scenario} (plus wallMs), each with `run`
 *  (the stored run to show) when the address names one; {run} alone; {grade}; or null. */
export function readHash(hash = location.hash) {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  if (q.get("grade")) return { grade: q.get("grade") };
  const run = q.get("run") || undefined;
  const wall = q.get("wall_ms");
  const wallMs = wall !== null && /^\d+$/.test(wall) ? Number(wall) : undefined;
  if (q.has("scenario")) {
    try {
      return { run, scenario: JSON.parse(fromBase64Url(q.get("scenario"))), wallMs };
    } catch {
      return { error: "The link's scenario could not be decoded." };
    }
  }
  if (!q.has("experiment")) return run ? { run } : null;
  const params = {};
  for (const [k, v] of q) if (!RESERVED.has(k)) params[k] = v;
  return { run, experiment: q.get("experiment"), params, wallMs };
}

/** Put `hash` in the address without triggering a run (no hashchange event). */
export function setHash(hash, { push = false } = {}) {
  if (location.hash === hash) return;
  const url = location.pathname + location.search + hash;
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
}

export function shareUrl() {
  return location.href;
}
