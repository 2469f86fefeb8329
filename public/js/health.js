// The server's health in the page's footer line: fetched on start, every HEALTH_MS while the page is
// open, when the tab comes back, and after a network error.

import * as api from "./api.js";

const HEALTH_MS = 15000;

/** Fetches /healthz once and shows it in `el` (marked `down` when the server does not answer). */
export async function refreshHealth(el) {
  try {
    const hz = await api.health();
    const ns = hz.sandbox && hz.sandbox.namespaces ? hz.sandbox.namespaces.join(", ") : "";
    el.textContent = `server ${hz.version || ""} · ${hz.status}${ns ? ` · namespaces: ${ns}` : ""}`;
    el.classList.remove("down");
    el.dataset.status = hz.status || "";
  } catch {
    el.textContent = `server not answering (checked ${new Date().toLocaleTimeString()})`;
    el.classList.add("down");
    el.dataset.status = "down";
  }
}

/** Keeps `el` current: now, every HEALTH_MS, and whenever the tab is shown again. */
export function watchHealth(el) {
  refreshHealth(el);
  setInterval(() => refreshHealth(el), HEALTH_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshHealth(el); });
}
