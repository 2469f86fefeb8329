// Downloads: the trace as JSON, and (when the server offers it) as Chrome Trace Event JSON.

import * as api from "./api.js";

function fileBase(trace) {
  const what = (trace.run && trace.run.experiment) || "scenario";
  const id = ((trace.run && trace.run.id) || "run").slice(0, 8);
  return `ipclab-${what.replace(/[^a-z0-9_.-]/gi, "_")}-${id}`;
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadTrace(trace) {
  download(`${fileBase(trace)}.json`, JSON.stringify(trace, null, 2) + "\n", "application/json");
}

/**
 * Whether the server offers ?format=chrome: the contract (openapi.yaml) says it does, so no probe is
 * sent (a probe was a rejected request in /metrics and an error in the console on every load); a
 * server that turns the format down when asked is remembered (markChromeUnsupported).
 */
let chromeSupport = Promise.resolve(true);
export function chromeSupported() {
  return chromeSupport;
}

/** Download the run on screen as Chrome Trace Event JSON: the stored run's own conversion, fetched by
 *  its id. Nothing runs again, so the file holds exactly the trace on screen. */
export async function downloadChrome(trace) {
  const result = await api.getRun(trace.run.id, "chrome");
  const text = typeof result === "string" ? result : JSON.stringify(result);
  download(`${fileBase(trace)}.chrome.json`, text, "application/json");
}

export function markChromeUnsupported() {
  chromeSupport = Promise.resolve(false);
}
