// The analysis panel's marks on the map (one GeoJSON source, each feature tagged with the output it
// came from) and the downloads of a result as GeoJSON and CSV.
import { state } from "/map/static/state.js";

export const SOURCE = "analysis";
// Output name → how it is drawn: trace/isolated pipes red, cut-off purple, valves as marked circles.
const ROLE_COLOURS = ["match", ["get", "_output"],
  "isolated", "#e53935", "segments", "#e53935", "cut_off", "#8e24aa", "pipes", "#fb8c00", "violations", "#fb8c00",
  "valves", "#1565c0", "failed_valves", "#212121", "affected_buildings", "#f9a825", "buildings", "#f9a825",
  "drawn", "#37474f", "#00897b"];
const LAYERS = [
  { id: "analysis-fill", type: "fill", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": ROLE_COLOURS, "fill-opacity": ["case", ["==", ["get", "_output"], "drawn"], 0.12, 0.45],
      "fill-outline-color": "#333" } },
  { id: "analysis-lines", type: "line", filter: ["==", ["geometry-type"], "LineString"],
    layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-color": ROLE_COLOURS, "line-width": ["case", ["==", ["get", "_output"], "drawn"], 2, 6],
      "line-opacity": 0.85,
      "line-dasharray": ["case", ["==", ["get", "_output"], "cut_off"], ["literal", [2, 1]], ["literal", [1, 0]]] } },
  { id: "analysis-points", type: "circle", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": ["case", ["in", ["get", "_output"], ["literal", ["valves", "failed_valves"]]], 8, 5],
      "circle-color": ROLE_COLOURS, "circle-stroke-color": "#fff", "circle-stroke-width": 2 } },
];

let current = { type: "FeatureCollection", features: [] };

function ensureLayers() {
  const map = state.map;
  if (!map.getSource(SOURCE)) map.addSource(SOURCE, { type: "geojson", data: current });
  for (const layer of LAYERS) if (!map.getLayer(layer.id)) map.addLayer({ ...layer, source: SOURCE });
}

/** Every output of ``results`` that is a FeatureCollection, as one collection tagged by output name. */
export function collect(results) {
  const features = [];
  for (const [name, value] of Object.entries(results || {})) {
    if (!value || value.type !== "FeatureCollection") continue;
    for (const f of value.features) {
      features.push({ ...f, properties: { ...(f.properties || {}), _output: name, _id: f.id ?? null } });
    }
  }
  return { type: "FeatureCollection", features };
}

/** Draw ``results`` on the map (replacing the previous marks) and return what was drawn.
 * ``drawn`` geometries (the section line, the dig area) stay visible beside the results. */
export function highlight(results, drawn = []) {
  current = collect(results);
  for (const geometry of drawn) current.features.push({ type: "Feature", geometry, properties: { _output: "drawn" } });
  ensureLayers();
  state.map.getSource(SOURCE).setData(current);
  return current;
}

/** Remove the marks. */
export function clearHighlight() {
  highlight({});
}

/** Put the marks back after the style was replaced (signing in or out replaces it). */
export function restoreHighlight() {
  if (state.map && state.map.isStyleLoaded()) ensureLayers();
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A result's rows as CSV: every feature of every collection (with its output and id), and list outputs. */
export function toCsv(results) {
  const rows = collect(results).features.map((f) => ({ output: f.properties._output, id: f.id ?? "",
    ...Object.fromEntries(Object.entries(f.properties).filter(([k]) => !k.startsWith("_"))) }));
  for (const [name, value] of Object.entries(results || {})) {
    if (Array.isArray(value)) for (const item of value) rows.push({ output: name, ...(typeof item === "object" ? item : { value: item }) });
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [columns.map(csvCell).join(","), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(","))];
  return "\ufeff" + lines.join("\r\n") + "\r\n";  // BOM: Excel opens UTF-8 Chinese correctly
}

/** Offer ``text`` as a file download named ``name``. */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
