// Click to identify: a popup with the tile's properties at once, then the feature's current
// version from the Features API (at the time the slider shows).
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { esc } from "/map/static/dom.js";
import { api } from "/map/static/http.js";
import { pick, t, title } from "/map/static/i18n.js";
import { hooks, state } from "/map/static/state.js";
import { asOfParam } from "/map/static/time.js";

const VERSION_KEYS = ["version", "valid_from", "valid_to", "recorded_at", "superseded_at", "changeset_id"];

function propertyRows(collection, props) {
  const fields = state.config.collections[collection].fields;
  return Object.entries(props)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => {
      const f = fields[k];
      const label = f ? pick(f.zh, f.en) : k;
      const unit = f && f.unit ? ` ${f.unit}` : "";
      return `<tr><th>${esc(label)}</th><td>${esc(v)}${esc(unit)}</td></tr>`;
    })
    .join("");
}

function popupHtml(collection, fid, props, extra = "") {
  const c = state.config.collections[collection];
  const badge = c.sample ? ` <span class="badge">${esc(t("sample"))}</span>` : "";
  const base = `/collections/${encodeURIComponent(collection)}/items/${fid}`;
  return `<div class="identify" data-collection="${esc(collection)}" data-fid="${esc(fid)}">
    <h3>${esc(title(c))}${badge}</h3>${extra}<table>${propertyRows(collection, props)}</table>
    <p><a href="${esc(base)}/versions" target="_blank" rel="noopener">${esc(t("versions"))}</a> ·
       <a href="${esc(base)}" target="_blank" rel="noopener">GeoJSON</a></p></div>`;
}

async function currentVersion(popup, collection, feature) {
  const when = asOfParam();
  const url = `/collections/${encodeURIComponent(collection)}/items/${feature.id}` + (when ? `?datetime=${encodeURIComponent(when)}` : "");
  try {
    const response = await api(url, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(String(response.status));
    const item = await response.json();
    const props = { ...(item.properties || {}) };
    const version = props.version ?? item.version;
    const meta = version !== undefined ? `<p class="muted">${esc(t("version"))} ${esc(version)}</p>` : "";
    for (const key of VERSION_KEYS) delete props[key];
    popup.setHTML(popupHtml(collection, feature.id, props, meta));
  } catch {
    popup.setHTML(popupHtml(collection, feature.id, feature.properties));
  }
}

/** The map's click handler: identify the topmost feature under the cursor. */
export async function identify(event) {
  if (state.analysisMode) return;  // the analysis panel owns clicks while it is open (analysis.js)
  const map = state.map;
  const hits = map.queryRenderedFeatures(event.point).filter((f) => f.layer.metadata && f.layer.metadata["onemap:collection"] && f.id !== undefined);
  hooks.lastHits = hits.map((f) => `${f.layer.id}:${f.id}`);
  if (!hits.length) return;
  // Labels sit above everything; the feature under the cursor is the topmost drawn shape.
  const feature = hits.find((f) => f.layer.type !== "symbol") || hits[0];
  const collection = feature.layer.metadata["onemap:collection"];
  const popup = new maplibregl.Popup({ maxWidth: "340px" })
    .setLngLat(event.lngLat)
    .setHTML(popupHtml(collection, feature.id, feature.properties, `<p class="muted">${esc(t("loading"))}</p>`))
    .addTo(map);
  hooks.lastPopup = popup;
  await currentVersion(popup, collection, feature);
  document.body.dataset.identified = `${collection}/${feature.id}`;
}
