// Requests to our own server, with the signed-in planner's token.
import { state } from "/map/static/state.js";

let tokenExpired = () => {};

/** What to do when the server refuses the token (session.js signs out). */
export function onTokenExpired(handler) {
  tokenExpired = handler;
}

/** Whether ``url`` points at this server (only then does it get the token). */
export function sameOrigin(url) {
  try { return new URL(url, window.location.href).origin === window.location.origin; } catch { return false; }
}

/** ``fetch`` with the token; a 401 on a token signs out. */
export async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401 && state.token) {
    tokenExpired();
    throw new Error("signed out: the token expired");
  }
  return response;
}

/** The JSON at ``path``; any HTTP error throws. */
export async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}
