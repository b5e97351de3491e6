// Click (or tap) a pipe, well or building: its properties from the tile's metadata
// (EXT_structural_metadata), with links to the feature's /items page and its versions.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { $, esc } from "/map/static/dom.js";
import { pick, title } from "/map/static/i18n.js";
import { t } from "/map3d/static/i18n3d.js";
import { depthOf } from "/map3d/static/underground.js";
import { hooks3d, view } from "/map3d/static/state3d.js";

const HIGHLIGHT = Cesium.Color.YELLOW;
let highlighted = null;

/** The feature's metadata as a plain object (every property the tile carries). */
export function featureProperties(feature) {
  const out = {};
  for (const name of feature.getPropertyIds()) out[name] = feature.getProperty(name);
  return out;
}

function rows(layer, props) {
  const fields = (view.config.collections[layer] || {}).fields || {};
  return Object.entries(props)
    .filter(([k, v]) => v !== null && v !== undefined && v !== "" && k !== "layer")
    .map(([k, v]) => {
      const f = fields[k];
      const label = f ? pick(f.zh, f.en) : k;
      const unit = f && f.unit ? ` ${f.unit}` : "";
      return `<tr><th>${esc(label)}</th><td>${esc(v)}${esc(unit)}</td></tr>`;
    }).join("");
}

function popupHtml(layer, props, depth) {
  const c = view.config.collections[layer];
  const name = c ? title(c) : layer;
  const badge = c && c.sample ? ` <span class="badge">${esc(t("sample"))}</span>` : "";
  const base = `/collections/${encodeURIComponent(layer)}/items/${encodeURIComponent(props.id)}`;
  const where = depth ? `<p class="muted">${esc(t("depth"))} ${depth.depth.toFixed(2)} m</p>` : "";
  return `<div class="identify" data-collection="${esc(layer)}" data-fid="${esc(props.id)}">
    <button type="button" class="close" aria-label="${esc(t("close"))}">×</button>
    <h3>${esc(name)}${badge}</h3>${where}<table>${rows(layer, props)}</table>
    <p><a href="${esc(base)}/versions" target="_blank" rel="noopener">${esc(t("versions"))}</a> ·
       <a href="${esc(base)}" target="_blank" rel="noopener">${esc(t("items"))} ${esc(props.id)}</a></p></div>`;
}

function closePopup() {
  $("popup").hidden = true;
  if (highlighted) { highlighted.feature.color = highlighted.colour; highlighted = null; }
  view.viewer.scene.requestRender();
}

/** Identify what lies under a screen point; returns {layer, id, properties} or null. */
export function identifyAt(point) {
  const scene = view.viewer.scene;
  const picked = scene.pick(point);
  closePopup();
  if (!(picked instanceof Cesium.Cesium3DTileFeature)) { hooks3d.lastPick = null; return null; }
  const props = featureProperties(picked);
  const layer = props.layer || picked.tileset.onemapLayer;
  const position = scene.pickPositionSupported ? scene.pickPosition(point) : undefined;
  const depth = position ? depthOf(scene, position) : null;
  highlighted = { feature: picked, colour: Cesium.Color.clone(picked.color) };
  picked.color = HIGHLIGHT;
  const box = $("popup");
  box.innerHTML = popupHtml(layer, props, depth);
  box.hidden = false;
  box.querySelector(".close").onclick = closePopup;
  hooks3d.lastPick = { layer, id: props.id, properties: props };
  document.body.dataset.identified = `${layer}/${props.id}`;
  scene.requestRender();
  return hooks3d.lastPick;
}

/** Click or tap to identify. */
export function setupPick() {
  const handler = new Cesium.ScreenSpaceEventHandler(view.viewer.scene.canvas);
  handler.setInputAction((click) => {
    identifyAt(click.position);
    if (view.showDepthAt) view.showDepthAt(click.position);  // a tablet has no cursor to follow: a tap sets it
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);
  return handler;
}
