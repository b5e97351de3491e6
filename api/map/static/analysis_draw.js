// Drawing a section line or an excavation polygon with terra-draw (from npm, served under /vendor).
// One drawing at a time: the shape is handed to ``done`` when finished, then drawing stops.
// The adapter itself imports the bare name "terra-draw": index.html's import map sends it to this same file.
import { TerraDraw, TerraDrawLineStringMode, TerraDrawPolygonMode } from "/vendor/terra-draw/dist/terra-draw.module.js";
import { TerraDrawMapLibreGLAdapter } from "/vendor/terra-draw-maplibre-gl-adapter/dist/terra-draw-maplibre-gl-adapter.module.js";
import { hooks, state } from "/map/static/state.js";

let draw = null;

/** Stop any drawing in progress (its shape is dropped). */
export function stopDrawing() {
  if (draw) {
    draw.stop();
    draw = null;
  }
  if (state.analysisMode) state.analysisMode = "pick";  // the panel still owns clicks
}

/**
 * Draw one ``linestring`` or ``polygon``; ``done(geometry)`` gets its GeoJSON geometry (CRS84).
 * A line is finished by clicking its last point again, a polygon by clicking its first point.
 */
export function startDrawing(kind, done) {
  stopDrawing();
  draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map: state.map }),
    modes: [new TerraDrawLineStringMode(), new TerraDrawPolygonMode()],
  });
  draw.start();
  draw.setMode(kind);
  state.analysisMode = kind;
  hooks.draw = draw;
  draw.on("finish", (id) => {
    const feature = draw.getSnapshotFeature(id);
    // After the map's own click for this same pointer has passed, so it is not taken for a pick.
    setTimeout(() => {
      stopDrawing();
      if (feature) done(feature.geometry);
    }, 50);
  });
}
