// Geometry editing with terra-draw (npm, served under /vendor): draw a new point, line or polygon;
// move, add (drag a midpoint) and delete (right-click) vertices; snap to existing vertices and pipe
// points; undo and redo before saving. Our own stack of snapshots gives undo/redo over every kind
// of change (drags, deleted vertices, splits, merges), independent of terra-draw's mode state.
import {
  TerraDraw, TerraDrawLineStringMode, TerraDrawPointMode, TerraDrawPolygonMode, TerraDrawSelectMode,
} from "/vendor/terra-draw/dist/terra-draw.module.js";
import { TerraDrawMapLibreGLAdapter } from "/vendor/terra-draw-maplibre-gl-adapter/dist/terra-draw-maplibre-gl-adapter.module.js";
import { hooks, state } from "/map/static/state.js";

const SNAP_PX = 12;
const SHAPES = new Set(["polygon", "linestring", "point"]);
const PRECISION = 1e8;  // terra-draw refuses coordinates finer than its precision (9 decimals)
const D = { draw: null, undo: [], redo: [], restoring: false, timer: null, onchange: () => {} };

/** The nearest vertex of a drawn map feature (building corner, pipe point…) within a few pixels. */
function snapTarget(event) {
  const map = state.map;
  const x = event.containerX, y = event.containerY;
  const near = map.queryRenderedFeatures([[x - SNAP_PX, y - SNAP_PX], [x + SNAP_PX, y + SNAP_PX]])
    .filter((f) => f.layer.metadata && f.layer.metadata["onemap:collection"]);
  let best, bestD = SNAP_PX;
  for (const f of near) {
    for (const c of flatCoords(f.geometry)) {
      const p = map.project(c);
      const d = Math.hypot(p.x - x, p.y - y);
      if (d <= bestD) { best = c; bestD = d; }
    }
  }
  return best ? roundPos(best) : undefined;
}

/** Every position of a GeoJSON geometry. */
export function flatCoords(geometry) {
  const out = [];
  const walk = (c) => { if (typeof c[0] === "number") out.push(c); else c.forEach(walk); };
  if (geometry && geometry.coordinates) walk(geometry.coordinates);
  return out;
}

const roundPos = (c) => [Math.round(c[0] * PRECISION) / PRECISION, Math.round(c[1] * PRECISION) / PRECISION];
const roundAll = (c) => (typeof c[0] === "number" ? roundPos(c) : c.map(roundAll));

const snapping = { toCoordinate: true, toCustom: (event) => snapTarget(event) };
const editFlags = {
  feature: {
    draggable: false, selfIntersectable: true,
    coordinates: { midpoints: true, draggable: true, deletable: true, snappable: snapping },
  },
};

function newDraw() {
  let next = 0;
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map: state.map }),
    idStrategy: { isValidId: (id) => Number.isInteger(id), getId: () => ++next },
    modes: [
      new TerraDrawPolygonMode({ snapping }),
      new TerraDrawLineStringMode({ snapping }),
      new TerraDrawPointMode(),
      new TerraDrawLineStringMode({ modeName: "cutline" }),
      new TerraDrawSelectMode({
        flags: { polygon: editFlags, linestring: editFlags, point: { feature: { draggable: true } } },
        allowManualDeselection: false,
      }),
    ],
  });
  draw.start();
  draw.on("change", () => { if (!D.restoring) scheduleSnapshot(); });
  return draw;
}

/** The parts being edited as terra-draw holds them: [{mode, geometry}]. */
function parts() {
  // Only the shapes: select mode adds its own points (vertex handles, midpoints) to the snapshot.
  return D.draw ? D.draw.getSnapshot().filter((f) => SHAPES.has(f.properties.mode))
    .map((f) => ({ mode: f.properties.mode, geometry: f.geometry })) : [];
}

// A drag is one undo step: while a button is held the snapshot waits for its release.
let buttonHeld = false;
window.addEventListener("pointerdown", () => { buttonHeld = true; }, true);
window.addEventListener("pointerup", () => { buttonHeld = false; }, true);

function scheduleSnapshot() {
  clearTimeout(D.timer);
  D.timer = setTimeout(() => (buttonHeld ? scheduleSnapshot() : pushSnapshot()), 200);
}

function pushSnapshot() {
  const snap = JSON.stringify(parts());
  if (D.undo[D.undo.length - 1] === snap) return;
  D.undo.push(snap);
  D.redo = [];
  D.onchange();
}

function load(snap) {
  D.restoring = true;
  try {
    D.draw.setMode("select");
    D.draw.clear();
    const list = JSON.parse(snap);
    const results = D.draw.addFeatures(list.map((p) => ({ type: "Feature", geometry: p.geometry, properties: { mode: p.mode } })));
    const bad = results.filter((r) => !r.valid);
    for (const r of results) if (r.valid) D.draw.selectFeature(r.id);
    return bad.length === 0;
  } finally {
    setTimeout(() => { D.restoring = false; }, 0);
  }
}

/** Split a (Multi)geometry into terra-draw parts (one polygon, line or point each). */
export function toParts(geometry) {
  const g = geometry.type;
  const many = g.startsWith("Multi") ? geometry.coordinates : [geometry.coordinates];
  const mode = { Polygon: "polygon", LineString: "linestring", Point: "point" }[g.replace("Multi", "")];
  return many.map((coordinates) => ({ mode, geometry: { type: g.replace("Multi", ""), coordinates: roundAll(coordinates) } }));
}

/**
 * Start editing ``geometry`` (GeoJSON, CRS84), or with ``geometry`` null draw a new one of
 * ``kind`` (polygon, linestring or point). False when terra-draw cannot hold it (e.g. holes).
 */
export function startGeometry(geometry, kind, onchange) {
  stopGeometry();
  D.draw = newDraw();
  hooks.editDraw = D.draw;
  D.onchange = onchange || (() => {});
  D.undo = [];
  D.redo = [];
  if (geometry) {
    const snap = JSON.stringify(toParts(geometry));
    D.undo.push(snap);
    return load(snap);
  }
  D.undo.push("[]");
  D.draw.setMode(kind);
  D.draw.on("finish", (id, ctx) => {
    if (D.draw.getMode() !== kind || (ctx && ctx.action && ctx.action !== "draw")) return;
    setTimeout(() => { D.draw.setMode("select"); D.draw.selectFeature(id); pushSnapshot(); }, 30);
  });
  return true;
}

/** Replace the edited geometry (after a split, a merge, or taking theirs); one undo step. */
export function setGeometry(geometry) {
  const snap = JSON.stringify(toParts(geometry));
  const ok = load(snap);
  D.undo.push(snap);
  D.redo = [];
  D.onchange();
  return ok;
}

/** Draw one throw-away line (for splitting); ``done(coordinates)`` gets it, then editing resumes. */
export function drawCutLine(done) {
  D.draw.setMode("cutline");
  const handler = (id, ctx) => {
    if (D.draw.getMode() !== "cutline" || (ctx && ctx.action && ctx.action !== "draw")) return;
    D.draw.off("finish", handler);
    const line = D.draw.getSnapshotFeature(id);
    setTimeout(() => {
      D.restoring = true;
      D.draw.removeFeatures([id]);
      D.draw.setMode("select");
      setTimeout(() => { D.restoring = false; }, 0);
      done(line ? line.geometry.coordinates : null);
    }, 30);
  };
  D.draw.on("finish", handler);
}

/** Step back (or forward) through the edits made since editing began. */
export function undoGeometry() {
  if (D.undo.length < 2) return false;
  D.redo.push(D.undo.pop());
  load(D.undo[D.undo.length - 1]);
  D.onchange();
  return true;
}

export function redoGeometry() {
  if (!D.redo.length) return false;
  const snap = D.redo.pop();
  D.undo.push(snap);
  load(snap);
  D.onchange();
  return true;
}

/** How many undo and redo steps there are. */
export const historySizes = () => ({ undo: D.undo.length - 1, redo: D.redo.length });

/** Whether the geometry differs from the one editing began with. */
export const geometryChanged = () => D.undo.length > 0 && JSON.stringify(parts()) !== D.undo[0];

/** The edited geometry as one GeoJSON geometry of the layer's type (Multi* when the layer is), or null. */
export function currentGeometry(layerType) {
  const list = parts();
  if (!list.length) return null;
  const single = list[0].geometry.type;
  if ((layerType || "").startsWith("Multi") || list.length > 1) {
    return { type: `Multi${single}`, coordinates: list.map((p) => p.geometry.coordinates) };
  }
  return list[0].geometry;
}

/** Stop editing the geometry (what was drawn is dropped from the map, not from the server). */
export function stopGeometry() {
  clearTimeout(D.timer);
  if (D.draw) {
    D.draw.stop();
    D.draw = null;
  }
  hooks.editDraw = null;
}

hooks.editGeometry = { setGeometry, undoGeometry, redoGeometry, currentGeometry, historySizes };
