// The public API of the service, and nothing else: GET /api/v1/experiments[/{id}], POST /api/v1/runs.

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
  if (!response.ok) {
    const err = isJson && body && body.error ? body.error : {};
    throw new ApiError({
      code: err.code || `http_${response.status}`,
      message: err.message || `The server answered ${response.status} ${response.statusText}.`,
      path: err.path ?? null,
      status: response.status,
      retryAfter: response.headers.get("Retry-After"),
    });
  }
  return body;
}

export async function listExperiments() {
  const body = await request(`${BASE}/experiments`);
  return body.experiments || [];
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

export function health() {
  return request("healthz");
}
