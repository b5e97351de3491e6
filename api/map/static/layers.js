// The layer tree: each collection's style layers switched on and off, their opacity, and 3D buildings.
import { $, esc } from "/map/static/dom.js";
import { pick, t, title } from "/map/static/i18n.js";
import { renderLegend } from "/map/static/legend.js";
import { state } from "/map/static/state.js";

/** Collections that start switched off (their tiles are not fetched until someone asks). */
export const HIDDEN_BY_DEFAULT = new Set(["ghsl_built_volume", "ghsl_building_height", "ghsl_built_age"]);
const OPACITY_PAINT = {
  fill: ["fill-opacity"], line: ["line-opacity"], circle: ["circle-opacity", "circle-stroke-opacity"],
  "fill-extrusion": ["fill-extrusion-opacity"], raster: ["raster-opacity"], symbol: ["text-opacity"],
};

function styleLayersOf(collection) {
  return state.style.layers.filter((l) => l.metadata && l.metadata["onemap:collection"] === collection);
}

/** Show or hide a collection's style layers; with 3D on, buildings swap their fill for extrusions. */
export function applyVisibility(collection) {
  const layers = styleLayersOf(collection);
  const hasThreeD = layers.some((l) => l.metadata["onemap:role"] === "3d");
  for (const layer of layers) {
    let on = state.visible[collection];
    if (layer.metadata["onemap:role"] === "3d") on = on && state.threeD;
    else if (hasThreeD && layer.type === "fill") on = on && !state.threeD;
    state.map.setLayoutProperty(layer.id, "visibility", on ? "visible" : "none");
  }
}

/** Scale a collection's paint opacities by its slider (from the style's own values). */
export function applyOpacity(collection) {
  const factor = state.opacity[collection] ?? 1;
  for (const layer of styleLayersOf(collection)) {
    for (const prop of OPACITY_PAINT[layer.type] || []) {
      const key = `${layer.id}|${prop}`;
      if (!(key in state.baseOpacity)) {
        const base = state.map.getPaintProperty(layer.id, prop);
        state.baseOpacity[key] = typeof base === "number" ? base : 1;
      }
      state.map.setPaintProperty(layer.id, prop, state.baseOpacity[key] * factor);
    }
  }
}

function layerRow(id) {
  const c = state.config.collections[id];
  const row = document.createElement("div");
  row.className = "layer";
  row.dataset.collection = id;
  const badge = c.sample ? `<span class="badge">${esc(t("sample"))}</span>` : "";
  const lock = c.access === "restricted" ? `<span class="lock" title="${esc(t("restricted"))}">🔒</span>` : "";
  row.innerHTML = `<label><input type="checkbox" ${state.visible[id] ? "checked" : ""}>
    <span class="name">${esc(title(c))}</span>${badge}${lock}</label>
    <input class="opacity" type="range" min="0" max="100" value="${Math.round((state.opacity[id] ?? 1) * 100)}"
      aria-label="${esc(t("opacity"))}" title="${esc(t("opacity"))}">`;
  row.querySelector("input[type=checkbox]").onchange = (ev) => {
    state.visible[id] = ev.target.checked;
    applyVisibility(id);
    renderLegend();
  };
  row.querySelector(".opacity").oninput = (ev) => {
    state.opacity[id] = Number(ev.target.value) / 100;
    applyOpacity(id);
  };
  return row;
}

/** The layer tree: one open group per domain group, one row per collection the caller may see. */
export function renderTree() {
  const tree = $("tree");
  tree.innerHTML = "";
  for (const group of state.config.groups) {
    const box = document.createElement("details");
    box.open = true;
    box.className = "group";
    box.innerHTML = `<summary>${esc(pick(group.title_zh, group.title_en))}</summary>`;
    for (const id of group.collections) box.appendChild(layerRow(id));
    tree.appendChild(box);
  }
}

/** Tilt the map and extrude buildings (or flatten both again). */
export function setThreeD(on) {
  state.threeD = on;
  $("toggle-3d").setAttribute("aria-pressed", String(on));
  if ("buildings" in state.config.collections) applyVisibility("buildings");
  state.map.easeTo({ pitch: on ? 55 : 0, duration: 0 });
}
