// Small MapLibre maps for the case pages: our own style, tiles and glyphs (no other host), the unit
// grid and the components drawn, plus GeoJSON overlays the pages add (a case, its cell, hotspots).
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { getJson } from "/cases-static/common.js";

const CJK_FONTS = "'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif";
let base = null;

/** The web map's style and starting view (fetched once per page). */
async function baseStyle() {
  if (!base) {
    const config = await getJson("/map/config");
    const style = await getJson(config.style);
    // 3D buildings and the GHSL rasters add nothing to a case map; the grid is what matters here.
    style.layers = style.layers.filter((l) => !(l.metadata && (l.metadata["onemap:role"] === "3d"
      || String(l.metadata["onemap:collection"] || "").startsWith("ghsl_"))));
    base = { style, center: config.center, zoom: config.zoom };
  }
  return { ...base, style: structuredClone(base.style) };
}

/** A map in ``container``; resolves once its style has loaded. */
export async function createMap(container, { center, zoom, interactive = true } = {}) {
  const { style, center: c0, zoom: z0 } = await baseStyle();
  const map = new maplibregl.Map({
    container, style, center: center || c0, zoom: zoom ?? z0, interactive,
    localIdeographFontFamily: CJK_FONTS, attributionControl: { compact: true },
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  await new Promise((resolve) => map.once("load", resolve));
  // As on the web map: the attribution starts folded, or it covers half of a phone-sized map.
  map.getContainer().querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
  return map;
}

/** Put ``data`` (GeoJSON) into source ``id``, creating the source on first use. */
export function setData(map, id, data) {
  const source = map.getSource(id);
  if (source) source.setData(data);
  else map.addSource(id, { type: "geojson", data });
}

/** A marker (a simple red dot) at ``lngLat``, moved when it exists. */
export function placeMarker(map, marker, lngLat) {
  const m = marker || new maplibregl.Marker({ color: "#d62728" });
  m.setLngLat(lngLat).addTo(map);
  return m;
}

/** The bounds of a GeoJSON geometry or FeatureCollection, as [[w, s], [e, n]]. */
export function boundsOf(geojson) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  const geoms = geojson.type === "FeatureCollection" ? geojson.features.map((f) => f.geometry)
    : [geojson.geometry || geojson];
  geoms.filter(Boolean).forEach((g) => walk(g.coordinates));
  return b.isEmpty() ? null : b;
}

/** Wait until the map has drawn what it wants (tiles in, not moving). */
export function whenIdle(map) {
  return new Promise((resolve) => { if (map.loaded() && map.areTilesLoaded()) resolve(); else map.once("idle", resolve); });
}
