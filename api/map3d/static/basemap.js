// The ground: our own vector tiles (roads, water, land use, the grid) drawn onto canvases with the 2D
// map's style, and draped on the globe as imagery. No external imagery, no Cesium ion.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { VectorTile } from "@mapbox/vector-tile";
import { PbfReader } from "pbf";
import { featureFilter, latest, normalizePropertyExpression } from "/vendor/@maplibre/maplibre-gl-style-spec/dist/index.mjs";
import { authHeaders, view } from "/map3d/static/state3d.js";

const SIZE = 512;  // MapLibre's zoom z is a 512-pixel tile at level z: the style's widths fit as they are
const MIN_LEVEL = 9;  // below this the ground is the globe's own colour (nothing of ours is drawn there)
const MAX_LEVEL = 16;  // the vector tiles' own maximum; Cesium magnifies beyond it
const DRAWN = { fill: ["fill-color", "fill-opacity"], line: ["line-color", "line-width", "line-opacity"] };
const GEOMETRY = { fill: 3, line: 2 };

function compile(layer) {
  const spec = latest[`paint_${layer.type}`];
  const paint = {};
  for (const prop of DRAWN[layer.type]) {
    const value = (layer.paint || {})[prop] ?? spec[prop].default;
    paint[prop] = normalizePropertyExpression(value, prop, spec[prop]);
  }
  const filter = layer.filter ? featureFilter(layer.filter) : { filter: () => true };
  return { id: layer.id, type: layer.type, sourceLayer: layer["source-layer"], minzoom: layer.minzoom ?? 0,
           maxzoom: layer.maxzoom ?? 24, filter, paint };
}

/** The 2D style's fill and line layers of the draped sources, ready to draw. */
export function drapedLayers(style, sources) {
  return style.layers
    .filter((l) => sources.includes(l.source) && l.type in DRAWN && (l.layout || {}).visibility !== "none")
    .map(compile);
}

function tileUrl(template, level, x, y, datetime) {
  const url = new URL(template.replace("{z}", level).replace("{x}", x).replace("{y}", y), window.location.href);
  if (datetime) url.searchParams.set("datetime", datetime);
  return url.pathname + url.search;
}

function trace(ctx, rings, scale, closed) {
  for (const ring of rings) {
    ring.forEach((p, i) => (i ? ctx.lineTo(p.x * scale, p.y * scale) : ctx.moveTo(p.x * scale, p.y * scale)));
    if (closed) ctx.closePath();
  }
}

function drawLayer(ctx, tile, layer, zoom) {
  const source = tile.layers[layer.sourceLayer];
  if (!source || zoom < layer.minzoom || zoom >= layer.maxzoom) return;
  const globals = { zoom };
  for (let i = 0; i < source.length; i += 1) {
    const f = source.feature(i);
    const feature = { type: f.type, properties: f.properties, id: f.id };
    if (f.type !== GEOMETRY[layer.type] || !layer.filter.filter(globals, feature)) continue;
    const scale = SIZE / f.extent;
    ctx.beginPath();
    trace(ctx, f.loadGeometry(), scale, layer.type === "fill");
    const value = (prop) => layer.paint[prop].evaluate(globals, feature);
    if (layer.type === "fill") {
      ctx.globalAlpha = value("fill-opacity");
      ctx.fillStyle = value("fill-color").toString();
      ctx.fill("evenodd");
    } else {
      ctx.globalAlpha = value("line-opacity");
      ctx.strokeStyle = value("line-color").toString();
      ctx.lineWidth = value("line-width");
      ctx.stroke();
    }
  }
}

/** An imagery provider drawing our vector tiles (``sources``: the style's vector sources) on the ground. */
export class VectorGround {
  constructor(style, sources, rectangle) {
    // A source the caller may not read (the grid, for anonymous visitors) is not in their style.
    const present = sources.filter((id) => style.sources[id]);
    this.layers = drapedLayers(style, present);
    this.templates = present.map((id) => style.sources[id].tiles[0]);
    this.tilingScheme = new Cesium.WebMercatorTilingScheme();
    this.rectangle = rectangle;
    this.tileWidth = SIZE;
    this.tileHeight = SIZE;
    this.minimumLevel = 0;
    this.maximumLevel = MAX_LEVEL;
    this.tileDiscardPolicy = undefined;
    this.errorEvent = new Cesium.Event();
    this.credit = new Cesium.Credit("一张图 One Map");
    this.proxy = undefined;
    this.hasAlphaChannel = true;
    this.datetime = null;
  }

  getTileCredits() { return undefined; }

  pickFeatures() { return undefined; }

  async requestImage(x, y, level) {
    const canvas = document.createElement("canvas");
    canvas.width = SIZE;
    canvas.height = SIZE;
    if (level < MIN_LEVEL) return canvas;
    const bodies = await Promise.all(this.templates.map(async (template) => {
      const response = await fetch(tileUrl(template, level, x, y, this.datetime),
        { headers: authHeaders(), credentials: "same-origin" });
      return response.status === 200 ? new Uint8Array(await response.arrayBuffer()) : null;
    }));
    const ctx = canvas.getContext("2d");
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    const tiles = bodies.filter(Boolean).map((b) => new VectorTile(new PbfReader(b)));
    for (const layer of this.layers) for (const tile of tiles) drawLayer(ctx, tile, layer, level);
    return canvas;
  }
}

/** The ground layer on the globe: our own data, as of ``datetime`` (null for now). */
export function addGround(viewer, style, sources, datetime) {
  const box = view.config.map3d.extent;
  const provider = new VectorGround(style, sources, Cesium.Rectangle.fromDegrees(...box));
  provider.datetime = datetime;
  const layer = viewer.imageryLayers.addImageryProvider(provider);
  return layer;
}
