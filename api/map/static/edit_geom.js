// Splitting and merging in the browser, on lon/lat coordinates (CRS84). Features are small (a
// building, a pipe segment), so planar intersections in degrees cut them where the editor drew;
// the server still validates whatever is saved.

/** Where segments p1→p2 and q1→q2 cross: {t, s, point} (t along p, s along q), or null. */
function crossing(p1, p2, q1, q2) {
  const r = [p2[0] - p1[0], p2[1] - p1[1]];
  const q = [q2[0] - q1[0], q2[1] - q1[1]];
  const den = r[0] * q[1] - r[1] * q[0];
  if (Math.abs(den) < 1e-18) return null;
  const w = [q1[0] - p1[0], q1[1] - p1[1]];
  const t = (w[0] * q[1] - w[1] * q[0]) / den;
  const s = (w[0] * r[1] - w[1] * r[0]) / den;
  if (t < 0 || t > 1 || s < 0 || s > 1) return null;
  return { t, s, point: [p1[0] + t * r[0], p1[1] + t * r[1]] };
}

/** Every crossing of the path ``a`` by the path ``b``: {i (segment of a), t, j (segment of b), s, point}. */
function crossings(a, b) {
  const out = [];
  for (let i = 0; i + 1 < a.length; i++) {
    for (let j = 0; j + 1 < b.length; j++) {
      const x = crossing(a[i], a[i + 1], b[j], b[j + 1]);
      if (x) out.push({ i, t: x.t, j, s: x.s, point: x.point });
    }
  }
  return out;
}

/**
 * Cut a polygon (rings, no holes) in two along ``cut`` (a path crossing its boundary exactly
 * twice). Returns two polygons' coordinates, or null when the line does not cut it cleanly.
 */
export function splitPolygon(rings, cut) {
  if (rings.length !== 1) return null;
  const ring = rings[0];
  const hits = crossings(ring, cut);
  if (hits.length !== 2) return null;
  hits.sort((x, y) => x.j + x.s - (y.j + y.s));  // in the order the line was drawn
  const between = cut.slice(hits[0].j + 1, hits[1].j + 1);  // the line's vertices inside the polygon
  let [a, b] = hits;
  let inner = between;
  if (a.i > b.i || (a.i === b.i && a.t > b.t)) { [a, b] = [b, a]; inner = [...between].reverse(); }
  const n = ring.length - 1;  // the ring is closed: ring[n] equals ring[0]
  const first = [a.point, ...ring.slice(a.i + 1, b.i + 1), b.point, ...[...inner].reverse(), a.point];
  const wrap = [...ring.slice(b.i + 1, n), ...ring.slice(0, a.i + 1)];
  const second = [b.point, ...wrap, a.point, ...inner, b.point];
  return [[first], [second]];
}

/** Cut a line where ``cut`` first crosses it; two lines' coordinates, or null. */
export function splitLine(coords, cut) {
  const hits = crossings(coords, cut);
  if (!hits.length) return null;
  hits.sort((x, y) => x.i + x.t - (y.i + y.t));
  const { i, point } = hits[0];
  return [[...coords.slice(0, i + 1), point], [point, ...coords.slice(i + 1)]];
}

/** The parts (polygons or lines) of a geometry. */
export const partsOf = (g) => (g.type.startsWith("Multi") ? g.coordinates : [g.coordinates]);

/** Split ``geometry`` along ``cut``: two geometries of the same type, or null. */
export function splitGeometry(geometry, cut) {
  const multi = geometry.type.startsWith("Multi");
  const kind = geometry.type.replace("Multi", "");
  const parts = partsOf(geometry);
  for (let k = 0; k < parts.length; k++) {
    const halves = kind === "Polygon" ? splitPolygon(parts[k], cut) : kind === "LineString" ? splitLine(parts[k], cut) : null;
    if (!halves) continue;
    const others = parts.filter((_, m) => m !== k);
    const wrap = (c, rest) => (multi ? { type: geometry.type, coordinates: [c, ...rest] } : { type: kind, coordinates: c });
    return [wrap(halves[0], others), wrap(halves[1], [])];
  }
  return null;
}

const same = (p, q) => Math.abs(p[0] - q[0]) < 1e-9 && Math.abs(p[1] - q[1]) < 1e-9;

/**
 * Merge ``b`` into ``a``: two lines meeting end to end become one line; anything else becomes
 * the Multi* geometry of both parts (when ``layerType`` is Multi*), else null.
 */
export function mergeGeometries(a, b, layerType) {
  if (a.type === "LineString" && b.type === "LineString") {
    const [p, q] = [a.coordinates, b.coordinates];
    if (same(p[p.length - 1], q[0])) return { type: "LineString", coordinates: [...p, ...q.slice(1)] };
    if (same(q[q.length - 1], p[0])) return { type: "LineString", coordinates: [...q, ...p.slice(1)] };
  }
  if (!(layerType || "").startsWith("Multi")) return null;
  if (a.type.replace("Multi", "") !== b.type.replace("Multi", "")) return null;
  return { type: layerType, coordinates: [...partsOf(a), ...partsOf(b)] };
}
