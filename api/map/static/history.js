// A feature's history in the map: its versions (the TimeMap at /items/{fid}/versions), the
// attribute diff between any two, and an old version's geometry drawn over the current one.
import { esc } from "/map/static/dom.js";
import { api, getJson } from "/map/static/http.js";
import { hooks, state } from "/map/static/state.js";
import { et } from "/map/static/edit_text.js";

const SOURCE = "onemap-history";
const H = { collection: null, fid: null, versions: [] };
hooks.history = H;

const itemUrl = (c, fid) => `/collections/${encodeURIComponent(c)}/items/${fid}`;

/** The feature as version ``v`` had it (asked for at the instant that version became valid). */
async function versionFeature(v) {
  const url = `${itemUrl(H.collection, H.fid)}?datetime=${encodeURIComponent(v.validFrom)}`;
  const response = await api(url, { headers: { Accept: "application/geo+json" } });
  if (!response.ok) throw new Error(`version ${v.version}: HTTP ${response.status}`);
  return response.json();
}

const show = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
const SYSTEM = new Set(["version", "valid_from", "valid_to", "recorded_at", "superseded_at", "changeset_id"]);

/** Rows of the attribute diff between two versions' features (changed ones marked). */
export function diffRows(a, b) {
  const keys = [...new Set([...Object.keys(a.properties || {}), ...Object.keys(b.properties || {})])].filter((k) => !SYSTEM.has(k));
  const rows = keys.map((k) => ({ field: k, a: a.properties[k] ?? null, b: b.properties[k] ?? null }))
    .map((r) => ({ ...r, changed: JSON.stringify(r.a) !== JSON.stringify(r.b) }));
  rows.push({ field: "geometry", a: a.geometry?.type, b: b.geometry?.type, changed: JSON.stringify(a.geometry) !== JSON.stringify(b.geometry) });
  return rows;
}

async function compare(box) {
  const pickA = Number(box.querySelector('input[name="hv-a"]:checked')?.value);
  const pickB = Number(box.querySelector('input[name="hv-b"]:checked')?.value);
  const va = H.versions.find((v) => v.version === pickA), vb = H.versions.find((v) => v.version === pickB);
  if (!va || !vb) return;
  const [fa, fb] = await Promise.all([versionFeature(va), versionFeature(vb)]);
  const fields = state.config.collections[H.collection]?.fields || {};
  const label = (k) => (fields[k] ? (state.lang === "zh" ? fields[k].zh : fields[k].en) : k === "geometry" ? et("geometry") : k);
  const rows = diffRows(fa, fb).map((r) => `<tr class="${r.changed ? "changed" : ""}" data-field="${esc(r.field)}">
    <th>${esc(label(r.field))}</th><td>${esc(show(r.a))}</td><td>${esc(show(r.b))}</td></tr>`);
  box.querySelector(".hv-diff").innerHTML = `<h4>${esc(et("diff"))} v${va.version} → v${vb.version}</h4>
    <table class="ed-diff"><thead><tr><th>${esc(et("field"))}</th><th>v${va.version}</th><th>v${vb.version}</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  drawOld(fa.geometry);
  document.body.dataset.historyDiff = `${va.version}-${vb.version}`;
}

/** Draw ``geometry`` (an old version's) dashed over the map; null removes it. */
export function drawOld(geometry) {
  const map = state.map;
  const data = { type: "FeatureCollection", features: geometry ? [{ type: "Feature", geometry, properties: {} }] : [] };
  if (map.getSource(SOURCE)) { map.getSource(SOURCE).setData(data); return; }
  map.addSource(SOURCE, { type: "geojson", data });
  map.addLayer({ id: `${SOURCE}-fill`, type: "fill", source: SOURCE, filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#d0021b", "fill-opacity": 0.15 } });
  map.addLayer({ id: `${SOURCE}-line`, type: "line", source: SOURCE, paint: { "line-color": "#d0021b", "line-width": 2.5, "line-dasharray": [2, 1.5] } });
  map.addLayer({ id: `${SOURCE}-point`, type: "circle", source: SOURCE, filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 6, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#d0021b", "circle-stroke-width": 2 } });
}

/** Show ``fid``'s versions in ``box``: pick any two to compare; the older one is drawn on the map. */
export async function showHistory(box, collection, fid) {
  Object.assign(H, { collection, fid });
  const doc = await getJson(`${itemUrl(collection, fid)}/versions`);
  H.versions = doc.versions.filter((v) => !v.correction);
  const n = H.versions.length;
  const rows = H.versions.map((v, i) => `<tr data-version="${v.version}">
    <td><input type="radio" name="hv-a" value="${v.version}" ${i === Math.max(0, n - 2) ? "checked" : ""} aria-label="A v${v.version}"></td>
    <td><input type="radio" name="hv-b" value="${v.version}" ${i === n - 1 ? "checked" : ""} aria-label="B v${v.version}"></td>
    <td>v${v.version}</td><td>${esc(v.operation)}</td><td>${esc(v.validFrom.slice(0, 10))}</td><td>${esc(v.changeset ?? "")}</td></tr>`);
  box.innerHTML = `<div class="an-block hv"><h4>${esc(et("history"))} · ${esc(collection)} #${esc(fid)}${doc.retired ? ` (${esc(et("retired"))})` : ""}</h4>
    <table class="ed-diff hv-list"><thead><tr><th>A</th><th>B</th><th>${esc(et("versions"))}</th><th>${esc(et("op"))}</th><th>${esc(et("validFrom"))}</th><th>#</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>
    <div class="an-buttons"><button type="button" class="hv-compare">${esc(et("compare"))}</button>
    <button type="button" class="hv-close">${esc(et("close"))}</button></div><div class="hv-diff"></div></div>`;
  box.querySelector(".hv-compare").onclick = () => compare(box).catch((err) => { box.querySelector(".hv-diff").textContent = String(err); });
  box.querySelector(".hv-close").onclick = () => { box.innerHTML = ""; drawOld(null); };
  document.body.dataset.history = `${collection}/${fid}/${n}`;
  if (n > 1) await compare(box);
}
