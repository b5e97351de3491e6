// The 编辑 / Edit tab: pick a feature on the map (or draw a new one), edit its attributes in the
// schema's form and its geometry with terra-draw, then save through Part 4 (If-Match) or add it
// to a changeset. 412 opens the conflict view, 422 puts errors on fields (and on the map), 409
// topology shows the reason. History and the swipe view start from here too.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { $, esc } from "/map/static/dom.js";
import { api } from "/map/static/http.js";
import { title } from "/map/static/i18n.js";
import { hooks, state } from "/map/static/state.js";
import { applyTime } from "/map/static/time.js";
import { renderChangesets } from "/map/static/edit_changesets.js";
import { renderConflict } from "/map/static/edit_conflict.js";
import {
  currentGeometry, drawCutLine, geometryChanged, historySizes, redoGeometry, setGeometry, startGeometry, stopGeometry, undoGeometry,
} from "/map/static/edit_draw.js";
import { checkAll, formValues, renderForm, showServerErrors } from "/map/static/edit_form.js";
import { mergeGeometries, splitGeometry } from "/map/static/edit_geom.js";
import { currentFeature, layerSchema, problemLocation, writeMany } from "/map/static/edit_save.js";
import { et } from "/map/static/edit_text.js";
import { showHistory } from "/map/static/history.js";
import { openSwipe } from "/map/static/swipe.js";

const KIND = { Polygon: "polygon", MultiPolygon: "polygon", LineString: "linestring", MultiLineString: "linestring", Point: "point", MultiPoint: "point" };
// E: the feature being edited. extra: edits that go with it (the other half of a split, the retired merge partner).
const E = { active: false, collection: null, fid: null, etag: null, original: null, schema: null, form: null, geomOk: true, extra: [], mode: null, pending: [], marker: null };
hooks.edit = E;

const editable = () => Object.entries(state.config.collections).filter(([, c]) => c.editable && KIND[c.geometry_type]);
const layerType = () => state.config.collections[E.collection].geometry_type;

function message(text, kind = "info") {
  const box = $("ed-message");
  box.innerHTML = text;
  box.className = `ed-message ${kind}`;
  box.hidden = !text;
}

function clearMarker() { if (E.marker) { E.marker.remove(); E.marker = null; } }

/** Rebuild the tab (after sign-in, language switch or a finished edit). */
export function renderEditPanel() {
  const pane = $("edit");
  if (!pane) return;
  closeFeature();
  document.querySelector('.tab[data-tab="edit"]').textContent = et("edit");
  const layers = editable();
  const who = state.config.principal;
  const options = layers.map(([id, c]) => `<option value="${esc(id)}">${esc(title(c))}</option>`).join("");
  pane.innerHTML = `
    <div id="ed-start" class="an-block">
      ${who.anonymous ? `<p class="muted">${esc(et("signInToEdit"))}</p>` : !layers.length ? `<p class="muted">${esc(et("noEditable"))}</p>` : `
      <p class="muted">${esc(et("pickHint"))}</p>
      <div class="an-buttons"><select id="ed-layer" aria-label="${esc(et("layer"))}">${options}</select>
      <button type="button" id="ed-new">${esc(et("newFeature"))}</button></div>`}
      <div class="an-buttons"><button type="button" id="ed-swipe">${esc(et("swipe"))}</button></div>
    </div>
    <div id="ed-feature" class="an-block" hidden>
      <h4 id="ed-title"></h4>
      <div class="an-buttons" id="ed-geom-tools">
        <button type="button" id="ed-undo">${esc(et("undo"))}</button><button type="button" id="ed-redo">${esc(et("redo"))}</button>
        <button type="button" id="ed-split">${esc(et("split"))}</button><button type="button" id="ed-merge">${esc(et("merge"))}</button>
        <button type="button" id="ed-retire">${esc(et("retire"))}</button><button type="button" id="ed-history">${esc(et("history"))}</button>
      </div>
      <p class="muted" id="ed-geom-status">${esc(et("vertexHint"))}</p>
      <form id="ed-form" class="ed-form" novalidate></form>
      <label class="ed-field"><span>${esc(et("validFrom"))}</span><input id="ed-valid-from" type="date"></label>
      <label class="ed-field"><span>${esc(et("comment"))}</span><input id="ed-comment" type="text"></label>
      <div class="an-buttons"><button type="button" id="ed-save">${esc(et("save"))}</button>
        <button type="button" id="ed-add">${esc(et("addToChangeset"))}</button>
        <button type="button" id="ed-cancel">${esc(et("cancel"))}</button></div>
      <div id="ed-conflict" class="ed-conflict" hidden></div>
    </div>
    <div id="ed-message" class="ed-message" hidden></div>
    <div id="ed-pending" class="an-block" hidden></div>
    <div id="ed-history-box"></div>
    <div id="ed-changesets"></div>`;
  wire();
  renderPending();
  if (!who.anonymous) renderChangesets($("ed-changesets"), layers);
}

function wire() {
  const on = (id, fn) => { const el = $(id); if (el) el.onclick = fn; };
  on("ed-new", () => newFeature($("ed-layer").value));
  on("ed-swipe", () => openSwipe());
  on("ed-undo", () => undoGeometry());
  on("ed-redo", () => redoGeometry());
  on("ed-split", startSplit);
  on("ed-merge", () => { E.mode = "merge"; message(esc(et("mergeHint"))); });
  on("ed-retire", retire);
  on("ed-history", () => showHistory($("ed-history-box"), E.collection, E.fid));
  on("ed-save", () => save());
  on("ed-add", addToChangeset);
  on("ed-cancel", closeFeature);
}

function toolsState() {
  const { undo, redo } = historySizes();
  const set = (id, off) => { const el = $(id); if (el) el.disabled = off; };
  set("ed-undo", !E.geomOk || undo < 1);
  set("ed-redo", !E.geomOk || redo < 1);
  const isPoint = KIND[layerType()] === "point";
  set("ed-split", E.fid === null || isPoint || !E.geomOk);
  set("ed-merge", E.fid === null || isPoint || !E.geomOk);
  set("ed-retire", E.fid === null);
  set("ed-history", E.fid === null);
}

async function begin(collection, fid, feature, etag) {
  closeFeature();
  Object.assign(E, { collection, fid, etag, original: feature, extra: [], mode: null });
  E.schema = await layerSchema(collection);
  const c = state.config.collections[collection];
  $("ed-title").textContent = `${title(c)}${fid === null ? ` · ${et("newFeature")}` : ` #${fid}`}${etag ? ` · v${etag.replace(/"/g, "").split(".")[1]}` : ""}`;
  E.form = renderForm($("ed-form"), E.schema, feature ? feature.properties || {} : {});
  $("ed-feature").hidden = false;
  $("ed-conflict").hidden = true;
  E.geomOk = startGeometry(feature ? feature.geometry : null, KIND[c.geometry_type], toolsState);
  if (!E.geomOk) $("ed-geom-status").textContent = `${et("geometry")}: ${feature.geometry.type} (holes) — ${et("notEditable")}`;
  toolsState();
  document.body.dataset.editing = `${collection}/${fid ?? "new"}`;
}

/** Open feature ``fid`` of ``collection`` in the editor (its current version and ETag). */
export async function openFeature(collection, fid) {
  const cur = await currentFeature(collection, fid);
  if (!cur) { message(esc(`${collection} #${fid}: ${et("retired")}`), "error"); return; }
  await begin(collection, fid, cur.feature, cur.etag);
}

/** Start drawing a new feature of ``collection``. */
export async function newFeature(collection) {
  await begin(collection, null, null, null);
}

/** Close the feature being edited (unsaved changes are dropped). */
export function closeFeature() {
  stopGeometry();
  clearMarker();
  E.collection = null; E.fid = null; E.form = null; E.mode = null; E.extra = [];
  const box = $("ed-feature");
  if (box) box.hidden = true;
  delete document.body.dataset.editing;
}

function validFrom() {
  const day = $("ed-valid-from").value;
  return day ? `${day}T00:00:00+08:00` : null;
}

/** The edit the form and the drawing describe (insert or replace), or null with the reason shown. */
function buildEdit() {
  if (!checkAll(E.form)) { message(esc(et("fixFields")), "error"); return null; }
  const geometry = E.geomOk ? currentGeometry(layerType()) : E.original.geometry;
  if (!geometry) { message(esc(`${et("geometry")}: ${et("required")}`), "error"); return null; }
  const feature = { type: "Feature", geometry, properties: formValues(E.form) };
  if (E.fid === null) return { op: "insert", collection: E.collection, feature };
  return { op: "replace", collection: E.collection, id: E.fid, if_match: E.etag, feature };
}

/** Save the open feature (with any split/merge partner edits); ``etag`` overrides (keep mine). */
export async function save(etag) {
  if (etag) E.etag = etag;
  const edit = buildEdit();
  if (!edit) return null;
  message(esc("…"));
  const result = await writeMany([edit, ...E.extra], { comment: $("ed-comment").value.trim(), validFrom: validFrom() });
  return result.ok ? saved(result) : failed(result, edit);
}

/** A single Part 4 write names its changeset only: the topology follow-ups are read from it. */
async function derivedOf(result) {
  if ((result.derived || []).length || !result.changeset) return result.derived || [];
  const response = await api(`/changesets/${result.changeset}`, { headers: { Accept: "application/json" } }).catch(() => null);
  if (!response || !response.ok) return [];
  const doc = await response.json();
  const own = new Set(result.results.map((r) => `${r.collection}/${r.id}`));
  return (doc.edits || []).filter((e) => !own.has(`${e.collection}/${e.id}`))
    .map((e) => ({ op: e.op, collection: e.collection, id: e.id, version: e.version_after, reason: et("topology") }));
}

async function saved(result) {
  const first = result.results[0];
  result.derived = await derivedOf(result);
  const derived = (result.derived || []).map((d) => `<li>${esc(d.collection)} #${esc(d.id)} v${esc(d.version)} — ${esc(d.reason || d.op)}</li>`).join("");
  const collection = E.collection;
  message(`${esc(et("saved"))} ${esc(first.version)}${result.changeset ? ` · #${esc(result.changeset)}` : ""}
    ${derived ? `<p>${esc(et("derived"))}:</p><ul class="ed-derived">${derived}</ul>` : ""}`, "ok");
  document.body.dataset.edited = `${collection}/${first.id}/v${first.version}`;
  hooks.lastSave = result;
  refreshTiles();
  if (first.op !== "retire") await openFeature(collection, first.id);
  else closeFeature();
  renderChangesets($("ed-changesets"), editable());
  return result;
}

async function failed(result, edit) {
  const p = result.problem || {};
  const type = String(p.type || "");
  if (result.status === 412) return conflict(p, edit);
  if (result.status === 422) {
    const rest = showServerErrors(E.form, p.errors);
    const geom = rest.find((e) => e.field === "geometry");
    if (geom) showGeometryProblem(geom);
    message(esc(rest.length ? rest.map((e) => e.message).join("; ") : p.detail || p.title), "error");
    return result;
  }
  if (result.status === 409 && type.endsWith("topology")) {
    const segs = (p.segments || []).map((s) => `<li>${esc(s.collection)} #${esc(s.id)} (${esc(s.point)})</li>`).join("");
    message(`<strong>${esc(et("topology"))}</strong>: ${esc(p.detail || p.title)}${segs ? `<ul>${segs}</ul>` : ""}`, "error");
    return result;
  }
  message(esc(`${result.status} ${p.title || ""}: ${p.detail || ""}`), "error");
  return result;
}

function showGeometryProblem(error) {
  clearMarker();
  const at = problemLocation(error);
  $("ed-geom-status").textContent = `${et("selfIntersect")}: ${error.message}`;
  $("ed-geom-status").classList.add("ed-warn");
  if (!at) return;
  const el = document.createElement("div");
  el.className = "ed-problem";
  el.title = error.message;
  E.marker = new maplibregl.Marker({ element: el }).setLngLat(at).addTo(state.map);
  document.body.dataset.geometryProblem = at.join(",");
}

async function conflict(problem, edit) {
  const listed = (problem.conflicts || []).find((c) => c.id === E.fid && c.current);
  const cur = listed ? { feature: listed.current, etag: listed.current_etag } : await currentFeature(E.collection, E.fid);
  if (!cur) { message(esc(problem.detail || problem.title), "error"); return null; }
  message("", "info");
  renderConflict($("ed-conflict"), {
    mine: edit.feature, theirs: cur.feature, fields: E.form.fields,
    onKeep: () => save(cur.etag),
    onTake: () => begin(E.collection, E.fid, cur.feature, cur.etag),
  });
  document.body.dataset.conflict = `${E.collection}/${E.fid}`;
  return { ok: false, status: 412 };
}

async function retire() {
  const result = await writeMany([{ op: "retire", collection: E.collection, id: E.fid, if_match: E.etag }],
    { comment: $("ed-comment").value.trim(), validFrom: validFrom() });
  if (result.ok) return saved(result);
  return failed(result, { feature: { ...E.original } });
}

function startSplit() {
  message(esc(et("splitHint")));
  E.mode = "split";  // map clicks draw the line now, they pick nothing
  drawCutLine((cut) => {
    E.mode = null;
    const geometry = currentGeometry(layerType());
    const halves = cut && geometry ? splitGeometry(geometry, cut) : null;
    if (!halves) { message(esc(et("splitFailed")), "error"); return; }
    setGeometry(halves[0]);
    const properties = formValues(E.form);
    E.extra.push({ op: "insert", collection: E.collection, feature: { type: "Feature", geometry: halves[1], properties } });
    message(esc(`${et("split")}: +1 ${et("newFeature")}`), "ok");
    toolsState();
  });
}

async function mergeWith(collection, fid) {
  E.mode = null;
  if (collection !== E.collection || fid === E.fid) { message(esc(et("mergeFailed")), "error"); return; }
  const other = await currentFeature(collection, fid);
  const merged = other && mergeGeometries(currentGeometry(layerType()), other.feature.geometry, layerType());
  if (!merged) { message(esc(et("mergeFailed")), "error"); return; }
  setGeometry(merged);
  E.extra.push({ op: "retire", collection, id: fid, if_match: other.etag });
  message(esc(`${et("merge")}: #${fid}`), "ok");
}

function addToChangeset() {
  const edit = buildEdit();
  if (!edit) return;
  E.pending.push(edit, ...E.extra);
  closeFeature();
  renderPending();
}

function renderPending() {
  const box = $("ed-pending");
  if (!box) return;
  box.hidden = !E.pending.length;
  box.innerHTML = `<h4>${esc(et("pending"))} (${E.pending.length})</h4>
    <ul>${E.pending.map((e) => `<li>${esc(e.op)} ${esc(e.collection)} ${esc(e.id ?? "")}</li>`).join("")}</ul>
    <label class="ed-field"><span>${esc(et("comment"))}</span><input id="ed-cs-comment" type="text"></label>
    <div class="an-buttons"><button type="button" id="ed-submit">${esc(et("submitChangeset"))}</button>
    <button type="button" id="ed-drop">${esc(et("cancel"))}</button></div>`;
  $("ed-drop").onclick = () => { E.pending = []; renderPending(); };
  $("ed-submit").onclick = submitPending;
}

async function submitPending() {
  const result = await writeMany(E.pending, { comment: $("ed-cs-comment").value.trim(), forceChangeset: true });
  hooks.lastSave = result;
  if (!result.ok) { const p = result.problem || {}; message(esc(`${result.status} ${p.title || ""}: ${p.detail || ""}`), "error"); return; }
  E.pending = [];
  renderPending();
  message(esc(`${et("saved")} · ${result.results.length}${result.changeset ? ` · #${result.changeset}` : ""}`), "ok");
  document.body.dataset.changeset = String(result.changeset ?? "");
  refreshTiles();
  renderChangesets($("ed-changesets"), editable());
}

let revision = 0;

/**
 * Fetch the tiles again so the map shows what was just written. The URLs gain an ``edits``
 * counter the server ignores: a new URL is fetched afresh by MapLibre and the browser alike.
 */
export function refreshTiles() {
  applyTime();
  revision += 1;
  for (const [id, source] of Object.entries(state.style.sources)) {
    const live = state.map.getSource(id);
    if (!live || !source.tiles) continue;
    live.setTiles(live.tiles.map((u) => {
      const url = new URL(u, window.location.href);
      url.searchParams.set("edits", String(revision));
      return decodeURI(url.toString()).replace(/%7B/g, "{").replace(/%7D/g, "}");
    }));
  }
}

function hit(event) {
  const hits = state.map.queryRenderedFeatures(event.point)
    .filter((f) => f.layer.metadata && f.layer.metadata["onemap:collection"] && f.id !== undefined);
  return hits.find((f) => f.layer.type !== "symbol") || hits[0];
}

function onMapClick(event) {
  if (!E.active || E.mode === "split" || (E.collection && !E.mode && E.fid === null)) return;  // drawing
  const f = hit(event);
  if (!f) return;
  const collection = f.layer.metadata["onemap:collection"];
  if (E.mode === "merge") { mergeWith(collection, f.id); return; }
  if (E.collection && (geometryChanged() || (collection === E.collection && f.id === E.fid))) return;  // a vertex drag ends with a click
  const c = state.config.collections[collection];
  if (c && c.editable) openFeature(collection, f.id);
  else showHistory($("ed-history-box"), collection, f.id);
}

/** Wire the tab to the map; call once the map has loaded. */
export function setupEditing() {
  // Delegated, so tabs other panels add later switch editing off too.
  document.querySelector(".tabs").addEventListener("click", (ev) => {
    const tab = ev.target.closest(".tab");
    if (!tab) return;
    E.active = tab.dataset.tab === "edit";
    if (E.active) state.analysisMode = "edit";  // identify.js leaves clicks to this panel
    else { closeFeature(); if (state.analysisMode === "edit") state.analysisMode = null; }
  });
  state.map.on("click", onMapClick);
  $("lang").addEventListener("click", () => renderEditPanel());
  renderEditPanel();
  hooks.editing = { openFeature, newFeature, save, closeFeature, refreshTiles };
}
