// The public API of the service, and nothing else: GET /api/v1/experiments[/{id}], POST /api/v1/runs,
// GET /api/v1/runs/{id}, POST /api/v1/grades, GET /api/v1/grades/{id}, and the check kinds of
// /openapi.yaml.

const BASE = "api/v1";

/** An error the server (or the network) gave: code, message, path as in {"error": {…}}. `errors` is
 *  every validation error the server found ({code, message, path, line?, column?}, in document order,
 *  the first being the error itself): the server's `error.errors` when it sends one, else just this one. */
export class ApiError extends Error {
  constructor({ code, message, path = null, status = 0, retryAfter = null, errors = null, line, column }) {
    super(message);
    this.code = code;
    this.path = path;
    this.status = status;
    this.retryAfter = retryAfter;
    const one = { code, message, path, ...(line ? { line, column } : {}) };
    this.errors = Array.isArray(errors) && errors.length
      ? errors.filter((e) => e && typeof e.message === "string").map((e) => ({ ...e, path: e.path ?? null }))
      : [one];
    if (!this.errors.length) this.errors = [one];
  }
}

async function request(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new ApiError({ code: "network", message: `Cannot reach the server (${e.message}).` });
  }
  const type = response.headers.get("Content-Type") || "";
  const isJson = type.includes("application/json");
  const body = isJson ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) throw failure(response, isJson ? body : null);
  return body;
}

/** The ApiError for a response that is not 2xx, from its JSON error body when it has one. */
function failure(response, body) {
  const err = body && body.error ? body.error : {};
  return new ApiError({
    code: err.code || `http_${response.status}`,
    message: err.message || `The server answered ${response.status} ${response.statusText}.`,
    path: err.path ?? null,
    errors: err.errors,
    line: err.line,
    column: err.column,
    status: response.status,
    retryAfter: response.headers.get("Retry-After"),
  });
}

export async function listExperiments() {
  const body = await request(`${BASE}/experiments`);
  return body.experiments || [];
}

/** The gallery of example C programs: [{id, title, mechanism, claim, observations, checks, programs}]. */
export async function listPrograms() {
  const body = await request(`${BASE}/programs`);
  return body.programs || [];
}

export function getExperiment(id) {
  return request(`${BASE}/experiments/${encodeURIComponent(id)}`);
}

/**
 * Run a preset ({experiment, params, limits}) or a scenario ({scenario, limits}).
 * format: undefined (JSON trace) or "chrome" / "text".
 */
export function run(body, format) {
  const query = format ? `?format=${encodeURIComponent(format)}` : "";
  return request(`${BASE}/runs${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The stored run `id`, as its POST answered it (format: undefined for the JSON trace, or "chrome" / "text"). */
export function getRun(id, format) {
  const query = format ? `?format=${encodeURIComponent(format)}` : "";
  return request(`${BASE}/runs/${encodeURIComponent(id)}${query}`);
}

/**
 * Run like run(), streamed (Accept: application/x-ndjson): `onLine(obj)` gets every event and
 * progress line as it arrives; resolves with the trace of the last line. A bad request still fails
 * with its ApiError before any line; a server that answers with the whole trace at once is fine too.
 */
export function runStream(body, onLine) {
  return postStream(`${BASE}/runs`, body, onLine, "trace");
}

/**
 * Grade a run request with `checks` (POST /api/v1/grades), streamed: `onLine(obj)` gets each finished
 * run's line ({type: "run", run, seed, passed, …}); resolves with the Grade of the last line.
 */
export function grade(body, onLine = () => {}) {
  return postStream(`${BASE}/grades`, body, onLine, "grade");
}

/** The stored grade `id`, as its POST answered it. */
export function getGrade(id) {
  return request(`${BASE}/grades/${encodeURIComponent(id)}`);
}

/** POST `body` as NDJSON; every line but the last goes to `onLine`, the last carries `last` (trace or grade). */
async function postStream(url, body, onLine, last) {
  const what = last === "grade" ? "grade" : "run";
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError({ code: "network", message: `Cannot reach the server (${e.message}).` });
  }
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("application/x-ndjson")) {
    const json = type.includes("application/json") ? await response.json().catch(() => null) : null;
    if (!response.ok) throw failure(response, json);
    if (json && json[`${last}_version`]) return json;
    throw new ApiError({ code: "bad_response", message: `The server answered ${type || "no Content-Type"}, not a ${last}.` });
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "", result = null;
  const take = (line) => {
    if (!line.trim()) return;
    const obj = JSON.parse(line);
    if (obj.type === last) result = obj[last];
    else if (obj.type === "error") throw new ApiError({ ...obj.error, status: response.status });
    else onLine(obj);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        take(line);
      }
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError({ code: "network", message: `The ${what}'s stream broke off (${e.message}).` });
  }
  take(buffered + decoder.decode());
  if (!result) throw new ApiError({ code: "network", message: `The ${what}'s stream ended before its ${last} arrived.` });
  return result;
}

let openapiText = null;
/** The server's /openapi.yaml as text ("" when it cannot be read); fetched once, when first needed. */
function openapi() {
  openapiText ??= fetch("openapi.yaml").then((r) => (r.ok ? r.text() : "")).catch(() => "");
  return openapiText;
}

let checkKinds = null;

/**
 * The check kinds the server accepts, read from its own /openapi.yaml (schema `Check`, `kind`'s enum)
 * with the schema's description of each kind's fields; fetched once, when the checks editor opens.
 * Resolves {kinds: [..], about: "…"}; kinds is empty when the document could not be read.
 */
export function listCheckKinds() {
  checkKinds ??= openapi().then(checkKindsOf);
  return checkKinds;
}

/** The `Check` schema's kinds and its description, from the OpenAPI YAML text (no YAML parser: the
 *  document's own layout, a `    Check:` block with `kind:` → `enum: [...]`). */
export function checkKindsOf(yaml) {
  const start = yaml.search(/^ {4}Check:\s*$/m);
  if (start < 0) return { kinds: [], about: "" };
  const rest = yaml.slice(start + 1);
  const end = rest.search(/^ {4}\S/m);
  const block = end < 0 ? rest : rest.slice(0, end);
  const kinds = (/\n\s+kind:\s*\n(?:\s+type: string\s*\n)?\s+enum:\s*\[([^\]]*)\]/.exec(block)?.[1] || "")
    .split(",").map((k) => k.trim().replace(/^["']|["']$/g, "")).filter(Boolean);
  const desc = /description: \|\n((?: {8}.*\n)+)/.exec(block)?.[1] || "";
  return { kinds, about: desc.split("\n").map((l) => l.trim()).join(" ").trim() };
}

/** The server's bounds of a run's programs, read from its /openapi.yaml (fetched when the C editor first
 *  opens): {programs, args, argBytes, stdinBytes, sourceBytes}, or null when the document has none. */
export function programLimits() {
  return openapi().then(programLimitsOf);
}

/** The bounds in the OpenAPI YAML text: `RunRequest.programs.maxItems` and the `Program` schema's
 *  `args` (maxItems, items' maxLength), `stdin` and `source` maxLength (no YAML parser, as checkKindsOf). */
export function programLimitsOf(yaml) {
  const block = (re) => {
    const start = yaml.search(re);
    if (start < 0) return "";
    const rest = yaml.slice(start);
    const end = rest.slice(1).search(/^ {4}\S/m);
    return end < 0 ? rest : rest.slice(0, end + 1);
  };
  const program = block(/^ {4}Program:\s*$/m);
  const field = (name) => new RegExp(`^ {8}${name}:\\s*\\n((?:(?: {10}.*)?\\n)+)`, "m").exec(program)?.[1] || "";
  const int = (text, re) => { const m = re.exec(text); return m ? Number(m[1]) : null; };
  const args = field("args"), stdin = field("stdin"), source = field("source");
  const programsBlock = /^ {8}programs:\s*\n((?:(?: {10}.*)?\n)+)/m.exec(block(/^ {4}RunRequest:\s*$/m))?.[1] || "";
  const limits = {
    programs: int(programsBlock, /maxItems:\s*(\d+)/),
    args: int(args, /maxItems:\s*(\d+)/),
    argBytes: int(args, /items:.*maxLength:\s*(\d+)/),
    stdinBytes: int(stdin, /maxLength:\s*(\d+)/),
    sourceBytes: int(source, /maxLength:\s*(\d+)/),
  };
  return Object.values(limits).every((v) => v !== null) ? limits : null;
}

export function health() {
  return request("healthz");
}
