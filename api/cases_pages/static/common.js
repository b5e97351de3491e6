// What every 数字城管 page shares: DOM helpers, requests to our own server, problem+json messages,
// the signed-in caller, and the test hooks on window.onemap.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** ``value`` escaped for HTML text and attribute values. */
export const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let readyResolve;
/** Test hooks: the browser tests read window.onemap (each page adds its own). */
export const hooks = { ready: new Promise((resolve) => { readyResolve = resolve; }) };
window.onemap = hooks;

/** Mark the page usable: body[data-ready] and window.onemap.ready. */
export function markReady(value) {
  document.body.dataset.ready = "1";
  readyResolve(value);
}

/** Record a start-up failure where the tests (and a curious person) can see it. */
export function failed(err) {
  console.error("case page failed:", err);
  document.body.dataset.failed = String(err && err.message ? err.message : err);
  const box = $("page-error");
  if (box) { box.textContent = String(err && err.message ? err.message : err); box.hidden = false; }
}

/** ``fetch`` on our server with the session cookie; a bearer token from the web map too. */
export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = sessionStorage.getItem("onemap.token");
  if (token && !headers.Authorization) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { ...options, headers, credentials: "same-origin" });
}

/** A readable message from an error response: the problem's title and detail, else the status. */
export async function problemText(response) {
  const body = await response.json().catch(() => null);
  if (body && (body.title || body.detail)) return [body.title, body.detail].filter(Boolean).join(": ");
  return `HTTP ${response.status}`;
}

/** An Error carrying the HTTP status and the problem's message. */
export class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** The JSON at ``path``; an HTTP error throws an HttpError with the problem's message. */
export async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new HttpError(response.status, `${path}: ${await problemText(response)}`);
  return response.json();
}

/** POST ``body`` as JSON; the parsed answer, or an HttpError. */
export async function postJson(path, body, headers = {}) {
  const response = await api(path, {
    method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers },
  });
  if (!response.ok) throw new HttpError(response.status, await problemText(response));
  return response.json();
}

/** The signed-in caller from /auth/me (name, roles, department when the server tells it). */
export async function loadMe() {
  const me = await getJson("/auth/me");
  me.roles = new Set(me.roles || []);
  hooks.me = me;
  return me;
}

/** Whether ``me`` holds one of ``roles`` (an admin holds them all). */
export const hasRole = (me, ...roles) => me.roles.has("admin") || roles.some((r) => me.roles.has(r));

/** A timestamp as local "MM-DD HH:mm" (with the year when not this year). */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.getFullYear() === new Date().getFullYear() ? day : `${d.getFullYear()}-${day}`;
}

/** Hours as "3.5 h" (or "—" when unknown). */
export const fmtHours = (h) => (h === null || h === undefined || Number.isNaN(Number(h)) ? "—" : `${Number(h).toFixed(1)} h`);

/** A Feature's (or Feature-like object's) properties, whichever shape the API sends. */
export const propsOf = (item) => (item && item.properties ? { ...item.properties, id: item.id ?? item.properties.id } : item);

/** Show a short message in the page's status line (role=status, so screen readers hear it). */
export function notify(text, kind = "info") {
  const el = $("status");
  if (!el) return;
  el.textContent = text;
  el.className = `status ${kind}`;
  el.hidden = !text;
}
