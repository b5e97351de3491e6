// A small map of the features on the page. No basemap tiles: the intranet has none
// to borrow, and the features themselves are what the page is about.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";

const data = JSON.parse(document.getElementById("features").textContent);
const container = document.getElementById("map");

function bounds(fc) {
  let b = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      b = [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])];
    } else c.forEach(visit);
  };
  fc.features.forEach((f) => f.geometry && visit(f.geometry.coordinates));
  return b;
}

if (container && data.features.length) {
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#eef3f6" } }] },
    attributionControl: false,
  });
  map.on("error", (e) => { container.dataset.error = String(e.error && e.error.message); });
  map.on("load", () => {
    map.addSource("f", { type: "geojson", data });
    map.addLayer({ id: "fill", type: "fill", source: "f", filter: ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]], paint: { "fill-color": "#2f7fb8", "fill-opacity": 0.35 } });
    map.addLayer({ id: "line", type: "line", source: "f", paint: { "line-color": "#16425b", "line-width": 2 } });
    map.addLayer({ id: "pt", type: "circle", source: "f", filter: ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]], paint: { "circle-radius": 6, "circle-color": "#d9480f" } });
    const b = bounds(data);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, maxZoom: 17, duration: 0 });
    container.dataset.ready = "true";
    // Tests (and curious people) can see how many features actually reached the canvas.
    map.on("render", () => { container.dataset.rendered = String(map.queryRenderedFeatures().length); });
  });
}
