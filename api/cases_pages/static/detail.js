// A case's detail: its properties and timers, a map of the point, its grid cell and component, its
// photos and history, and the action buttons the state and the caller's roles open.
import { $, HttpError, api, esc, fmtHours, fmtTime, hooks, problemText, propsOf } from "/cases-static/common.js";
import { actionLabel, allowedActions, className, departmentName, stateLabel } from "/cases-static/codes.js";
import { runAction } from "/cases-static/actions.js";
import { t } from "/cases-static/i18n.js";
import { boundsOf, createMap, setData } from "/cases-static/mapview.js";

const detail = { id: null, data: null, etag: null, map: null, onChanged: () => {} };
hooks.detail = detail;
const EMPTY = { type: "FeatureCollection", features: [] };

async function fetchCase(id) {
  const response = await api(`/cases/${encodeURIComponent(id)}`);
  if (!response.ok) throw new HttpError(response.status, await problemText(response));
  detail.etag = response.headers.get("ETag");
  return response.json();
}

async function firstFeature(collection, field, value) {
  if (!value) return null;
  const filter = encodeURIComponent(`${field}='${String(value).replace(/'/g, "''")}'`);
  const response = await api(`/collections/${collection}/items?filter=${filter}&limit=1&f=json`);
  if (!response.ok) return null;  // not readable by this caller, or not there: the map shows the point only
  const body = await response.json();
  return body.features && body.features[0] ? body.features[0] : null;
}

async function ensureMap() {
  if (detail.map) return detail.map;
  const map = await createMap("detail-map", { zoom: 17 });
  setData(map, "case-cell", EMPTY);
  setData(map, "case-point", EMPTY);
  map.addLayer({ id: "case-cell-fill", type: "fill", source: "case-cell", paint: { "fill-color": "#f0a030", "fill-opacity": 0.25 } });
  map.addLayer({ id: "case-cell-line", type: "line", source: "case-cell", paint: { "line-color": "#d07000", "line-width": 3 } });
  map.addLayer({ id: "case-point", type: "circle", source: "case-point",
    paint: { "circle-radius": ["case", ["==", ["get", "what"], "case"], 8, 6],
      "circle-color": ["case", ["==", ["get", "what"], "case"], "#d62728", "#1f77b4"],
      "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
  detail.map = map;
  hooks.detailMap = map;
  return map;
}

async function drawMap(feature, p) {
  const map = await ensureMap();
  const [cell, component] = await Promise.all([
    firstFeature("grid_cells", "grid_code", p.grid_code),
    firstFeature("city_components", "obj_code", p.component_code),
  ]);
  const points = [{ type: "Feature", geometry: feature.geometry, properties: { what: "case" } }];
  if (component) points.push({ type: "Feature", geometry: component.geometry, properties: { what: "component" } });
  setData(map, "case-cell", cell ? { type: "FeatureCollection", features: [cell] } : EMPTY);
  setData(map, "case-point", { type: "FeatureCollection", features: points.filter((f) => f.geometry) });
  detail.cell = cell;
  detail.component = component;
  map.resize();
  const bounds = boundsOf(cell || { type: "FeatureCollection", features: points.filter((f) => f.geometry) });
  if (bounds) map.fitBounds(bounds, { padding: 40, maxZoom: 18, duration: 0 });
}

function renderProps(p, timers) {
  const rows = [
    [t("state"), `<span class="state s-${esc(p.state)}">${esc(stateLabel(p.state))}</span>`
      + (timers.overdue ? ` <span class="badge overdue">${t("overdue")}</span>` : "")],
    [t("klass"), esc(className(p.kind, p.big_class, p.small_class))],
    [t("description_"), esc(p.description)],
    [t("grid"), `<span class="mono">${esc(p.grid_code)}</span> ${esc([p.district, p.street, p.community].filter(Boolean).join(" "))}`],
    [t("componentCode"), `<span class="mono">${esc(p.component_code || "—")}</span>`],
    [t("department"), esc(departmentName(p.department))],
    [t("reportedAt"), esc(fmtTime(p.reported_at))], [t("deadline"), esc(fmtTime(p.deadline_at))],
    [t("timeUsed"), fmtHours(timers.time_used_h)], [t("timeLeft"), fmtHours(timers.time_left_h)],
    [t("reporter"), esc(p.reporter)], [t("handler"), esc(p.handler || "—")],
  ];
  $("detail-props").innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
}

const img = (a) => `<a href="${esc(a.url)}" target="_blank" rel="noopener"><img src="${esc(a.url)}" alt="" loading="lazy"></a>`;

function renderHistory(history) {
  $("detail-history").innerHTML = (history || []).map((h) => `<li><b>${esc(h.action ? actionLabel(h.action) : stateLabel(h.state))}</b>
    → ${esc(stateLabel(h.state))} · ${esc(h.actor || "")} · ${esc(fmtTime(h.at))}
    ${h.reason ? `<div class="reason">${esc(h.reason)}</div>` : ""}
    ${(h.attachments || []).length ? `<div class="photos small">${h.attachments.map(img).join("")}</div>` : ""}</li>`).join("");
}

function renderActions(p) {
  const box = $("detail-actions");
  const codes = allowedActions(hooks.me, p);
  box.innerHTML = codes.length ? codes.map((c) => `<button type="button" class="action a-${c}" data-action="${c}">${esc(actionLabel(c))}</button>`).join("")
    : `<span class="muted">${t("noActions")}</span>`;
  box.querySelectorAll("button[data-action]").forEach((b) => {
    b.onclick = () => runAction(b.dataset.action, detail, { after: afterAction });
  });
}

async function afterAction() {
  await refreshDetail();
  detail.onChanged();
}

function render() {
  const { case: feature, history, attachments, timers } = detail.data;
  const p = propsOf(feature);
  detail.props = p;
  $("detail-empty").hidden = true;
  $("detail-body").hidden = false;
  $("detail-title").textContent = `${p.case_no} · ${className(p.kind, p.big_class, p.small_class)}`;
  renderProps(p, { ...(timers || {}), overdue: (timers && timers.overdue) ?? p.overdue });
  $("detail-photos").innerHTML = (attachments || []).map(img).join("") || `<span class="muted">—</span>`;
  renderHistory(history);
  renderActions(p);
  return drawMap(feature, p);
}

/** Show case ``id``; ``onChanged`` runs after an action changed it (the queue reloads). */
export async function openDetail(id, { onChanged } = {}) {
  detail.id = id;
  if (onChanged) detail.onChanged = onChanged;
  $("action-error").hidden = true;
  detail.data = await fetchCase(id);
  await render();
  detail.shown = (detail.shown || 0) + 1;
}

/** Fetch and redraw the open case (after an action or a live event about it). */
export async function refreshDetail() {
  if (detail.id === null) return;
  detail.data = await fetchCase(detail.id);
  await render();
}
