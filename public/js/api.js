// The public API of the service, and nothing else: GET /api/v1/experiments[/{id}], POST /api/v1/runs,
// GET /api/v1/runs/{id}.

const BASE = "api/v1";

/** An error the server (or the network) gave: code, message, path as in {"error": {…}}. */
export class ApiError extends Error {
  constructor({ code, message, path = null, status = 0, retryAfter = null }) {
    super(message);
    this.code = code;
    this.path = path;
    this.status = status;
    this.retryAfter = retryAfter;
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
export async function runStream(body, onLine) {
  let response;
  try {
    response = await fetch(`${BASE}/runs`, {
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
    if (json && json.trace_version) return json;
    throw new ApiError({ code: "bad_response", message: `The server answered ${type || "no Content-Type"}, not a trace.` });
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "", trace = null;
  const take = (line) => {
    if (!line.trim()) return;
    const obj = JSON.parse(line);
    if (obj.type === "trace") trace = obj.trace;
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
    throw new ApiError({ code: "network", message: `The run's stream broke off (${e.message}).` });
  }
  take(buffered + decoder.decode());
  if (!trace) throw new ApiError({ code: "network", message: "The run's stream ended before its trace arrived." });
  return trace;
}

export function health() {
  return request("healthz");
}
