// One Map web map: MapLibre GL JS from our own /vendor, styles and tiles from this server only.
// This module loads the configuration, builds the map and wires the modules to the page.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { renderAnalysis, setAnalysisActive, setupAnalysis } from "/map/static/analysis.js";
import { renderCasesMenu } from "/map/static/cases_menu.js";
import { setupCoords } from "/map/static/coords.js";
import { $ } from "/map/static/dom.js";
import { getJson, sameOrigin } from "/map/static/http.js";
import { toggleLanguage, translate } from "/map/static/i18n.js";
import { identify } from "/map/static/identify.js";
import { HIDDEN_BY_DEFAULT, applyOpacity, applyVisibility, renderTree, setThreeD } from "/map/static/layers.js";
import { renderLegend } from "/map/static/legend.js";
import { setupMap3dButton } from "/map/static/map3d_link.js";
import { setupSearch } from "/map/static/search.js";
import { setupSignIn, showWho } from "/map/static/session.js";
import { hooks, markReady, state } from "/map/static/state.js";
import { applyTime, setupTime } from "/map/static/time.js";
import { renderStatistics, setupStatistics } from "/map/static/statistics.js";
import { renderEditPanel, setupEditing } from "/map/static/edit_panel.js";

const CJK_FONTS = "'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";

async function loadConfig() {
  state.config = await getJson("/map/config");
  state.style = await getJson(state.config.style);
  state.legend = await getJson(state.config.legend);
  for (const id of Object.keys(state.config.collections)) {
    if (!(id in state.visible)) state.visible[id] = !HIDDEN_BY_DEFAULT.has(id);
  }
  // Hidden layers start hidden, so their tiles are never fetched until someone switches them on.
  for (const layer of state.style.layers) {
    const id = layer.metadata && layer.metadata["onemap:collection"];
    if (id && !state.visible[id]) layer.layout = { ...(layer.layout || {}), visibility: "none" };
  }
}

function applyAll() {
  for (const id of Object.keys(state.config.collections)) {
    applyVisibility(id);
    if (state.opacity[id] !== undefined) applyOpacity(id);
  }
  if (state.year !== null) applyTime();
}

// After signing in or out: what the map may show has changed.
async function reload() {
  await loadConfig();
  state.baseOpacity = {};
  state.map.setStyle(state.style, { diff: false });
  state.map.once("styledata", () => applyAll());
  renderTree();
  renderLegend();
  showWho();
  renderCasesMenu();
  setupTime();
  renderAnalysis();
  renderEditPanel();
}

function setupPanel() {
  const panel = $("panel");
  const toggle = $("panel-toggle");
  if (window.innerWidth < 900) { panel.classList.add("closed"); toggle.setAttribute("aria-expanded", "false"); }
  toggle.onclick = () => {
    const closed = panel.classList.toggle("closed");
    toggle.setAttribute("aria-expanded", String(!closed));
    setTimeout(() => state.map.resize(), 50);
  };
  document.querySelectorAll(".tab").forEach((tab) => {
    tab.onclick = () => {
      document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === tab));
      document.querySelectorAll(".tabpane").forEach((pane) => { pane.hidden = pane.id !== tab.dataset.tab; });
      setAnalysisActive(tab.dataset.tab === "analysis");
    };
  });
}

function createMap() {
  const map = new maplibregl.Map({
    container: "map",
    style: state.style,
    center: state.config.center,
    zoom: state.config.zoom,
    localIdeographFontFamily: CJK_FONTS,
    attributionControl: { compact: true },
    canvasContextAttributes: { preserveDrawingBuffer: true },
    transformRequest: (url) => (state.token && sameOrigin(url)
      ? { url, headers: { Authorization: `Bearer ${state.token}` } } : { url }),
  });
  state.map = map;
  hooks.map = map;
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-right");
  map.on("click", identify);
  map.on("mousemove", (e) => {
    const over = map.queryRenderedFeatures(e.point).some((f) => f.id !== undefined && f.layer.metadata);
    map.getCanvas().style.cursor = over ? "pointer" : "";
  });
  return map;
}

async function main() {
  await loadConfig();
  translate();
  setupPanel();
  const map = createMap();
  renderTree();
  renderLegend();
  showWho();
  renderCasesMenu();
  setupTime();
  setupSearch();
  setupSignIn(reload);
  $("toggle-3d").onclick = () => setThreeD(!state.threeD);
  $("lang").onclick = () => toggleLanguage(() => {
    renderTree(); renderLegend(); renderAnalysis(); renderCasesMenu(); renderStatistics();
  });
  setupMap3dButton();
  map.on("load", () => {
    document.querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
    applyAll();
    setupCoords();
    setupAnalysis().catch((err) => console.error("analysis panel:", err));
    setupStatistics();
    setupEditing();
    map.once("idle", () => {
      document.body.dataset.ready = "1";
      markReady(map);
    });
  });
}

main().catch((err) => {
  console.error("One Map failed to start:", err);
  document.body.dataset.failed = String(err);
});
