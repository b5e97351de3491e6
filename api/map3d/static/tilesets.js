// The 3D layers: one Cesium3DTileset per layer (pipe segments and points per category, buildings),
// loaded from our /collections/{id}/3dtiles/tileset.json with the caller's credentials, as of the
// time slider's date. The layer tree switches them on and off.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { $, esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { t } from "/map3d/static/i18n3d.js";
import { authHeaders, view } from "/map3d/static/state3d.js";

const SCREEN_SPACE_ERROR = 8;
// Pipes keep their CJJ 61 colour where they face the viewer and darken towards their edges (a head
// lamp), so a tube reads as round and its colour stays the standard's whatever the sun's position.
const HEADLAMP = `void fragmentMain(FragmentInput fsInput, inout czm_modelMaterial material) {
  material.diffuse *= 0.55 + 0.45 * abs(normalize(fsInput.attributes.normalEC).z);
}`;
let shader = null;

function headlamp() {
  shader = shader || new Cesium.CustomShader({ lightingModel: Cesium.LightingModel.UNLIT, fragmentShaderText: HEADLAMP });
  return shader;
}

/** ``datetime`` for the chosen year (its last second), or null for now. */
export function asOfParam() {
  return view.year === null ? null : `${view.year}-12-31T23:59:59Z`;
}

function tilesetUrl(id) {
  const path = view.config.map3d.tileset.replace("{id}", encodeURIComponent(id));
  const when = asOfParam();
  return when ? `${path}?datetime=${encodeURIComponent(when)}` : path;
}

/** Every 3D layer id the caller may see: each category's layers, then buildings. */
export function layerIds() {
  const m = view.config.map3d;
  return [...m.categories.flatMap((c) => c.layers), ...(m.buildings ? [m.buildings] : [])];
}

/** How every tileset is drawn (the server's and an opened folder's alike). */
export function tilesetOptions() {
  return {
    maximumScreenSpaceError: SCREEN_SPACE_ERROR, customShader: headlamp(),
    // A picked feature is mixed with the highlight colour; unpicked (white) features keep their own.
    colorBlendMode: Cesium.Cesium3DTileColorBlendMode.MIX, colorBlendAmount: 0.6,
  };
}

async function loadOne(id, generation) {
  const resource = new Cesium.Resource({ url: tilesetUrl(id), headers: authHeaders() });
  try {
    const tileset = await Cesium.Cesium3DTileset.fromUrl(resource, tilesetOptions());
    if (generation !== view.generation) { tileset.destroy(); return; }  // the slider moved on meanwhile
    tileset.show = view.visible[id] !== false;
    tileset.onemapLayer = id;
    view.viewer.scene.primitives.add(tileset);
    view.tilesets[id] = tileset;
  } catch (err) {
    // A layer without 3D content (or gone for this caller) stays out of the scene; the tree says so.
    console.warn(`no 3D tileset for ${id}:`, err && err.message);
    view.missing.add(id);
  }
}

/** (Re)load every tileset as of the slider's time; resolves once all have answered. */
export async function loadTilesets() {
  view.generation += 1;
  const generation = view.generation;
  for (const tileset of Object.values(view.tilesets)) view.viewer.scene.primitives.remove(tileset);
  view.tilesets = {};
  view.missing = new Set();
  await Promise.all(layerIds().map((id) => loadOne(id, generation)));
  document.body.dataset.asOf = asOfParam() || "";
  renderTree();
}

function setShown(ids, on) {
  for (const id of ids) {
    view.visible[id] = on;
    if (view.tilesets[id]) view.tilesets[id].show = on;
  }
  view.viewer.scene.requestRender();
}

function row(key, label, ids, swatch, checked, onToggle) {
  const el = document.createElement("div");
  el.className = "layer";
  el.dataset.layer = key;
  const missing = ids.length && ids.every((id) => view.missing && view.missing.has(id));
  el.innerHTML = `<label><input type="checkbox" ${checked ? "checked" : ""}>
    ${swatch ? `<span class="sw" style="background:${esc(swatch)}"></span>` : ""}
    <span class="name">${esc(label)}</span>${missing ? `<span class="muted">${esc(t("noTileset"))}</span>` : ""}</label>`;
  el.querySelector("input").onchange = (ev) => onToggle(ev.target.checked);
  return el;
}

/** The layer tree: the pipe categories (CJJ 61 colours), buildings, and the draped ground. */
export function renderTree() {
  const tree = $("tree");
  const m = view.config.map3d;
  tree.innerHTML = "";
  const group = (title, rows) => {
    const box = document.createElement("details");
    box.open = true;
    box.className = "group";
    box.innerHTML = `<summary>${esc(title)}</summary>`;
    rows.forEach((r) => box.appendChild(r));
    tree.appendChild(box);
  };
  group(t("pipes"), m.categories.map((c) => row(
    c.key, pick(c.title_zh, c.title_en), c.layers, c.colour, c.layers.some((id) => view.visible[id] !== false),
    (on) => setShown(c.layers, on))));
  const others = [];
  if (m.buildings) {
    others.push(row("buildings", t("buildings"), [m.buildings], null, view.visible[m.buildings] !== false,
      (on) => setShown([m.buildings], on)));
  }
  others.push(row("ground", t("ground"), [], null, view.draped ? view.draped.show : true, (on) => {
    if (view.draped) view.draped.show = on;
  }));
  if (view.local) {
    // The folder opened from disk (localfolder.js): shown until another folder is opened.
    others.push(row("folder", `${t("folder")}: ${view.local.name}`, [], null, view.local.tileset.show, (on) => {
      view.local.tileset.show = on;
      view.viewer.scene.requestRender();
    }));
  }
  group(t("layers"), others);
}
