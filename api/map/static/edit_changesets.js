// Changesets and bulk edits (the edit-api endpoints): the newest changesets with their comments,
// undo of one (admin), and a bulk edit (CQL2 filter and/or a drawn polygon → preview count and
// sample → one attribute change applied as one changeset).
import { esc } from "/map/static/dom.js";
import { api } from "/map/static/http.js";
import { title } from "/map/static/i18n.js";
import { hooks, state } from "/map/static/state.js";
import { applyTime } from "/map/static/time.js";
import { currentGeometry, startGeometry, stopGeometry } from "/map/static/edit_draw.js";
import { editableFields } from "/map/static/edit_form.js";
import { layerSchema } from "/map/static/edit_save.js";
import { et } from "/map/static/edit_text.js";

const C = { area: null, box: null, layers: [] };
hooks.changesets = C;
const JSON_HEADERS = { "Content-Type": "application/json", Accept: "application/json, application/problem+json" };

async function call(path, body) {
  const response = await api(path, body === undefined ? {} : { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
  const doc = await response.json().catch(() => ({}));
  return { status: response.status, ok: response.ok, doc };
}

const say = (text, kind = "info") => {
  const out = C.box.querySelector(".cs-out");
  out.innerHTML = text;
  out.className = `cs-out ed-message ${kind}`;
};

const problemText = (r) => `${r.status} ${r.doc.title || ""}: ${r.doc.detail || ""}`;

async function loadList() {
  const list = C.box.querySelector(".cs-list");
  const r = await call("/changesets?limit=15");
  if (r.status === 404 || r.status === 405) { list.innerHTML = `<p class="muted">${esc(et("unavailable"))}</p>`; return; }
  if (!r.ok) { list.textContent = problemText(r); return; }
  const items = r.doc.changesets || r.doc.items || (Array.isArray(r.doc) ? r.doc : []);
  const admin = state.config.principal.roles.includes("admin");
  list.innerHTML = `<table class="ed-diff"><thead><tr><th>#</th><th>${esc(et("actor"))}</th><th>${esc(et("comment"))}</th><th></th></tr></thead><tbody>${
    items.map((c) => `<tr data-changeset="${esc(c.id)}"><td>${esc(c.id)}</td><td>${esc(c.actor)}</td>
      <td>${esc(c.comment || "")}${c.undone_by ? ` <small>(${esc(et("undo"))} #${esc(c.undone_by)})</small>` : ""}</td>
      <td>${admin && !c.undone_by ? `<button type="button" class="cs-undo" data-id="${esc(c.id)}">${esc(et("undo"))}</button>` : ""}</td></tr>`).join("")
  }</tbody></table>`;
  list.querySelectorAll(".cs-undo").forEach((b) => { b.onclick = () => undo(Number(b.dataset.id), false); });
}

async function undo(id, force) {
  const comment = C.box.querySelector(".cs-comment").value.trim();
  const r = await call(`/changesets/${id}/undo`, { comment, ...(force ? { force: true } : {}) });
  hooks.lastUndo = r;
  if (r.ok) { say(esc(`${et("undoChangeset")} #${id} → #${r.doc.id}`), "ok"); applyTime(); await loadList(); return; }
  if (r.status === 409) {
    const features = (r.doc.features || []).map((f) => `${f.collection} #${f.id}`).join(", ");
    say(`${esc(problemText(r))} ${esc(features)} <button type="button" class="cs-force">force</button>`, "error");
    C.box.querySelector(".cs-force").onclick = () => undo(id, true);
    return;
  }
  say(esc(problemText(r)), "error");
}

async function fillFields() {
  const layer = C.box.querySelector(".bk-layer").value;
  const schema = await layerSchema(layer);
  C.fields = editableFields(schema);
  C.box.querySelector(".bk-field").innerHTML = C.fields.map(([name, s]) => `<option value="${esc(name)}">${esc(name)} ${esc(s.title)}</option>`).join("");
}

function bulkBody(preview) {
  const q = (sel) => C.box.querySelector(sel).value.trim();
  const name = q(".bk-field");
  const [, s] = C.fields.find(([n]) => n === name);
  const numeric = [s.type].flat().some((t) => t === "number" || t === "integer");
  const raw = q(".bk-value");
  const body = { set: { [name]: raw === "" ? null : numeric ? Number(raw) : raw }, comment: q(".bk-comment") || q(".cs-comment"), preview };
  if (q(".bk-filter")) body.filter = q(".bk-filter");
  if (C.area) body.intersects = C.area;
  return body;
}

async function bulk(preview) {
  const layer = C.box.querySelector(".bk-layer").value;
  const r = await call(`/collections/${encodeURIComponent(layer)}/bulk-edit`, bulkBody(preview));
  hooks.lastBulk = r;
  if (r.status === 404 || r.status === 405) { say(esc(et("unavailable")), "error"); return; }
  if (!r.ok) {
    const errs = (r.doc.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    say(esc(`${problemText(r)} ${errs}`), "error");
    return;
  }
  if (preview) {
    const sample = (r.doc.sample?.features || []).map((f) => `<li>#${esc(f.id)} ${esc(f.properties?.name ?? "")}</li>`).join("");
    say(`${esc(et("matched"))}: <strong class="bk-count">${esc(r.doc.count)}</strong><ul>${sample}</ul>`);
  } else {
    say(esc(`${et("matched")}: ${r.doc.count}${r.doc.changeset ? ` · #${r.doc.changeset}` : ""}`), "ok");
    applyTime();
    await loadList();
  }
}

function drawArea() {
  startGeometry(null, "polygon", () => {
    const g = currentGeometry("Polygon");
    if (!g) return;
    C.area = g;
    C.box.querySelector(".bk-area").textContent = "✓";
    setTimeout(stopGeometry, 50);
  });
}

/** The changeset list and the bulk-edit form, in ``box``. */
export function renderChangesets(box, layers) {
  if (!box) return;
  C.box = box;
  C.layers = layers;
  const options = layers.map(([id, c]) => `<option value="${esc(id)}">${esc(title(c))}</option>`).join("");
  box.innerHTML = `<details class="an-block cs"><summary>${esc(et("changesets"))}</summary>
      <label class="ed-field"><span>${esc(et("comment"))}</span><input class="cs-comment" type="text"></label>
      <div class="cs-list"></div></details>
    <details class="an-block bk"><summary>${esc(et("bulk"))}</summary>
      <label class="ed-field"><span>${esc(et("layer"))}</span><select class="bk-layer">${options}</select></label>
      <label class="ed-field"><span>${esc(et("filter"))}</span><input class="bk-filter" type="text" placeholder="height_m &gt; 50"></label>
      <div class="an-buttons"><button type="button" class="bk-draw">${esc(et("drawArea"))}</button><span class="bk-area"></span></div>
      <label class="ed-field"><span>${esc(et("setField"))}</span><select class="bk-field"></select></label>
      <label class="ed-field"><span>${esc(et("value"))}</span><input class="bk-value" type="text"></label>
      <label class="ed-field"><span>${esc(et("comment"))}</span><input class="bk-comment" type="text"></label>
      <div class="an-buttons"><button type="button" class="bk-preview">${esc(et("preview"))}</button>
      <button type="button" class="bk-apply">${esc(et("apply"))}</button></div></details>
    <div class="cs-out" hidden></div>`;
  box.querySelector(".bk-layer").onchange = () => fillFields();
  box.querySelector(".bk-draw").onclick = drawArea;
  box.querySelector(".bk-preview").onclick = () => bulk(true);
  box.querySelector(".bk-apply").onclick = () => bulk(false);
  if (layers.length) fillFields().catch(() => {});
  // Listed when opened: a server without edit-api answers 404, which need not show up on every page load.
  box.querySelector("details.cs").ontoggle = (ev) => {
    if (ev.target.open) loadList().catch((err) => { box.querySelector(".cs-list").textContent = String(err); });
  };
}
