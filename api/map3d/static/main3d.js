// One Map 3D: CesiumJS from our own /vendor, fully offline (no Cesium ion, no token, no external
// imagery or terrain). The ground is our own vector data; pipes and buildings are our 3D Tiles.
import "/map3d/static/base.js";
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { $ } from "/map/static/dom.js";
import { getJson } from "/map/static/http.js";
import { setupSignIn, showWho } from "/map/static/session.js";
import { state } from "/map/static/state.js";
import { addGround } from "/map3d/static/basemap.js";
import { followCamera, lookAt, parseHash } from "/map3d/static/camera.js";
import { toggleLanguage, translate } from "/map3d/static/i18n3d.js";
import { setupPick, identifyAt } from "/map3d/static/pick3d.js";
import { hooks3d, markReady, view } from "/map3d/static/state3d.js";
import { setupTime } from "/map3d/static/time3d.js";
import { setupFolder } from "/map3d/static/localfolder.js";
import { asOfParam, loadTilesets, renderTree, tilesetOptions } from "/map3d/static/tilesets.js";
import { setupUnderground } from "/map3d/static/underground.js";

async function loadConfig() {
  view.config = await getJson("/map3d/config");
  state.config = view.config;  // the 2D map's sign-in module reads who is signed in from here
  view.style = await getJson(view.config.style);
}

function createViewer() {
  Cesium.Ion.defaultAccessToken = "";  // never Cesium ion: this viewer has no token at all
  const viewer = new Cesium.Viewer("globe", {
    baseLayer: false, baseLayerPicker: false, geocoder: false, terrain: undefined,
    terrainProvider: new Cesium.EllipsoidTerrainProvider(), imageryProviderViewModels: [],
    terrainProviderViewModels: [], homeButton: false, sceneModePicker: false, navigationHelpButton: false,
    animation: false, timeline: false, fullscreenButton: false, infoBox: false, selectionIndicator: false,
    skyAtmosphere: false, contextOptions: { webgl: { preserveDrawingBuffer: true } },
  });
  const globe = viewer.scene.globe;
  globe.baseColor = Cesium.Color.fromCssColorString(view.style.layers.find((l) => l.type === "background")?.paint?.["background-color"] || "#f4f1ea");
  globe.showGroundAtmosphere = false;
  globe.depthTestAgainstTerrain = true;
  viewer.scene.skyBox.show = false;
  viewer.scene.backgroundColor = Cesium.Color.fromCssColorString("#cfdbe6");
  viewer.scene.pickTranslucentDepth = true;
  view.viewer = viewer;
  hooks3d.viewer = viewer;
  return viewer;
}

function drapeGround() {
  if (view.draped) view.viewer.imageryLayers.remove(view.draped);
  view.draped = addGround(view.viewer, view.style, view.config.map3d.draped, asOfParam());
}

// After signing in or out, or moving the time slider: what the scene may show has changed.
async function reload() {
  await loadConfig();
  showWho();
  drapeGround();
  await loadTilesets();
}

function setupPanel() {
  const panel = $("panel");
  const toggle = $("panel-toggle");
  if (window.innerWidth < 900) { panel.classList.add("closed"); toggle.setAttribute("aria-expanded", "false"); }
  toggle.onclick = () => toggle.setAttribute("aria-expanded", String(!panel.classList.toggle("closed")));
}

/** Whether the ground and every shown tileset have loaded what the current view needs. */
function settled() {
  const scene = view.viewer.scene;
  const shown = [...Object.values(view.tilesets), ...(view.local ? [view.local.tileset] : [])];
  return scene.globe.tilesLoaded && shown.every((ts) => !ts.show || ts.tilesLoaded);
}

/** Resolves once three frames in a row were drawn settled (a frame drawn before a move does not count). */
function whenSettled() {
  return new Promise((resolve) => {
    let quiet = 0;
    const remove = view.viewer.scene.postRender.addEventListener(() => {
      quiet = settled() ? quiet + 1 : 0;
      if (quiet >= 3) { remove(); resolve(true); }
    });
  });
}

async function main() {
  await loadConfig();
  translate();
  setupPanel();
  const viewer = createViewer();
  drapeGround();
  const start = parseHash(window.location.hash)
    || { lon: view.config.center[0], lat: view.config.center[1], range: 1500, heading: 0, pitch: -40 };
  lookAt(start);
  followCamera();
  showWho();
  setupSignIn(reload);
  setupUnderground();
  setupPick();
  setupFolder(tilesetOptions);
  setupTime(async () => { drapeGround(); await loadTilesets(); });
  $("lang").onclick = () => toggleLanguage(renderTree);
  hooks3d.identifyAt = (x, y) => identifyAt(new Cesium.Cartesian2(x, y));
  hooks3d.settled = settled;
  hooks3d.whenSettled = whenSettled;
  hooks3d.project = (lon, lat, height) => {
    const p = Cesium.SceneTransforms.worldToWindowCoordinates(viewer.scene, Cesium.Cartesian3.fromDegrees(lon, lat, height));
    return p ? { x: p.x, y: p.y } : null;
  };
  hooks3d.lookAt = lookAt;
  await loadTilesets();
  markReady();
}

main().catch((err) => {
  console.error("One Map 3D failed to start:", err);
  document.body.dataset.failed = String(err);
});
