// The page's address holds what ran. After a run it names the stored run first, so that a link
// shows exactly that trace again (nothing runs); the rest is the recipe "Run again" uses:
//   #run=<run id>&experiment=pipe.byte_stream&write_sizes=10,10,10,10&read_sizes=5,15,15,5&wall_ms=2000
// Without `run`, a link is a recipe, and opening it runs it:
//   #experiment=pipe.byte_stream&write_sizes=10,10,10,10&read_sizes=5,15,15,5&wall_ms=2000
//   #scenario=<base64url of the scenario JSON>&wall_ms=500
//   #programs=<base64url of the deflate-raw'd JSON of a run's `programs`>&wall_ms=3000
// A stored grade: #grade=<grade id> (fetched, never graded again).

const RESERVED = new Set(["run", "experiment", "scenario", "programs", "wall_ms", "grade"]);

function toBase64Url(text) {
  return bytesToBase64Url(new TextEncoder().encode(text));
}

function bytesToBase64Url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  return new TextDecoder().decode(base64UrlToBytes(text));
}

function base64UrlToBytes(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** `bytes` through a (De)CompressionStream, all at once. */
async function transform(bytes, stream) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
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

/**
 * The recipe of a run of C programs (their sources, args and stdin: what "Run again" sends), deflated
 * (C sources shrink about 3×) so that a link stays short enough to paste; "" where the browser has no
 * CompressionStream (the link then names the stored run alone).
 */
export async function programsHash(programs, wallMs) {
  if (typeof CompressionStream === "undefined") return "";
  const packed = await transform(new TextEncoder().encode(JSON.stringify(programs)), new CompressionStream("deflate-raw"));
  const q = new URLSearchParams({ programs: bytesToBase64Url(packed) });
  if (wallMs !== undefined && wallMs !== null) q.set("wall_ms", String(wallMs));
  return "#" + q.toString();
}

/** The programs a link's `programs=` holds ([{name, language, source, args, stdin}]); throws when it
 *  does not decode to a list of programs. */
export async function decodePrograms(packed) {
  const text = new TextDecoder().decode(await transform(base64UrlToBytes(packed), new DecompressionStream("deflate-raw")));
  const programs = JSON.parse(text);
  const ok = Array.isArray(programs) && programs.length > 0 && programs.every((p) => p && typeof p.name === "string"
    && typeof p.source === "string" && (p.args === undefined || Array.isArray(p.args)));
  if (!ok) throw new Error("not a list of programs");
  return programs;
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

/** What the address asks for: {experiment, params}, {scenario} or {programs} (the packed text for
 *  decodePrograms), plus wallMs, each with `run`
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
  if (q.has("programs")) return { run, programs: q.get("programs"), wallMs };
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
