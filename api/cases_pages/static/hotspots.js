// Hotspots: cases per unit grid cell from /cases/hotspots, as a choropleth of the cells and as a
// MapLibre heatmap of their centres (weighted by the count), switchable.
import { $, hooks } from "/cases-static/common.js";
import { boundsOf, createMap, setData } from "/cases-static/mapview.js";

const COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
const state = { map: null, mode: "choropleth", max: 0, data: null };
hooks.hotspots = state;

function centre(geometry) {
  // The vertex average of the outer ring(s): good enough for a ~100 m cell's heat.
  let x = 0; let y = 0; let n = 0;
  const polys = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
  for (const poly of polys) for (const [lng, lat] of poly[0]) { x += lng; y += lat; n += 1; }
  return n ? [x / n, y / n] : null;
}

function centres(fc) {
  return {
    type: "FeatureCollection",
    features: fc.features.filter((f) => f.geometry).map((f) => ({
      type: "Feature", geometry: { type: "Point", coordinates: centre(f.geometry) }, properties: { count: f.properties.count },
    })).filter((f) => f.geometry.coordinates),
  };
}

function addLayers(map) {
  setData(map, "hotspots", { type: "FeatureCollection", features: [] });
  setData(map, "hotspot-centres", { type: "FeatureCollection", features: [] });
  map.addLayer({ id: "hotspots-fill", type: "fill", source: "hotspots",
    paint: { "fill-color": COLOURS[0], "fill-opacity": 0.75, "fill-outline-color": "#8a4a00" } });
  map.addLayer({ id: "hotspots-heat", type: "heatmap", source: "hotspot-centres", layout: { visibility: "none" },
    paint: { "heatmap-weight": 1, "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 12, 12, 16, 40],
      "heatmap-intensity": 1, "heatmap-opacity": 0.85 } });
}

function restyle() {
  const map = state.map;
  const max = Math.max(1, state.max);
  const steps = [1, 2, 3, 4].map((i) => Math.max(1, Math.round((max * i) / 5)));
  const unique = [...new Set(steps)];
  const stepExpr = ["step", ["get", "count"], COLOURS[0]];
  unique.forEach((s, i) => stepExpr.push(s, COLOURS[Math.min(i + 1, COLOURS.length - 1)]));
  map.setPaintProperty("hotspots-fill", "fill-color", stepExpr);
  map.setPaintProperty("hotspots-heat", "heatmap-weight", ["/", ["get", "count"], max]);
  map.setLayoutProperty("hotspots-fill", "visibility", state.mode === "choropleth" ? "visible" : "none");
  map.setLayoutProperty("hotspots-heat", "visibility", state.mode === "heatmap" ? "visible" : "none");
  $("hotspot-legend").innerHTML = state.mode === "choropleth"
    ? [0, ...unique].map((s, i) => `<i style="background:${COLOURS[i]}"></i>≥${s}`).join(" ") : `max ${state.max}`;
}

/** Create the hotspot map and wire the choropleth/heatmap switch. */
export async function setupHotspots() {
  state.map = await createMap("hotspot-map", { zoom: 13 });
  hooks.hotspotMap = state.map;
  addLayers(state.map);
  document.querySelectorAll("input[name=hotspot-mode]").forEach((r) => {
    r.onchange = () => { state.mode = r.value; restyle(); };
  });
}

/** Show one /cases/hotspots answer (a FeatureCollection of cells with ``count``). */
export function showHotspots(fc) {
  state.data = fc;
  state.max = Math.max(0, ...fc.features.map((f) => Number(f.properties.count) || 0));
  setData(state.map, "hotspots", fc);
  setData(state.map, "hotspot-centres", centres(fc));
  restyle();
  const bounds = fc.features.length ? boundsOf(fc) : null;
  if (bounds) state.map.fitBounds(bounds, { padding: 30, maxZoom: 16, duration: 0 });
}
