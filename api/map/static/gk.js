// Gauss-Krüger (transverse Mercator) on the CGCS2000 ellipsoid, by Krüger's series to n⁴
// (sub-millimetre inside a 3° zone). Input lon/lat degrees; output easting/northing metres.
const A_AXIS = 6378137.0;
const FLATTENING = 1 / 298.257222101;

const n = FLATTENING / (2 - FLATTENING);
const e = Math.sqrt(FLATTENING * (2 - FLATTENING));
const rectifyingRadius = (A_AXIS / (1 + n)) * (1 + (n * n) / 4 + (n ** 4) / 64);
const alpha = [
  n / 2 - (2 * n * n) / 3 + (5 * n ** 3) / 16 + (41 * n ** 4) / 180,
  (13 * n * n) / 48 - (3 * n ** 3) / 5 + (557 * n ** 4) / 1440,
  (61 * n ** 3) / 240 - (103 * n ** 4) / 140,
  (49561 * n ** 4) / 161280,
];

/**
 * CGCS2000 3-degree Gauss-Krüger coordinates of a point.
 * @param {number} lon longitude, degrees east (CGCS2000)
 * @param {number} lat latitude, degrees north (CGCS2000)
 * @param {number} zone 3-degree zone (central meridian 3·zone °E); 38 for Changsha (EPSG:4547)
 * @param {boolean} prefixed add the zone number in front of the easting (EPSG:4526 style)
 * @returns {{easting: number, northing: number}} metres
 */
export function gaussKruger(lon, lat, zone = 38, prefixed = false) {
  const phi = (lat * Math.PI) / 180;
  const dl = ((lon - 3 * zone) * Math.PI) / 180;
  const sinPhi = Math.sin(phi);
  const t = Math.sinh(Math.atanh(sinPhi) - e * Math.atanh(e * sinPhi));
  const xi0 = Math.atan2(t, Math.cos(dl));
  const eta0 = Math.atanh(Math.sin(dl) / Math.sqrt(1 + t * t));
  let xi = xi0;
  let eta = eta0;
  for (let j = 1; j <= alpha.length; j += 1) {
    xi += alpha[j - 1] * Math.sin(2 * j * xi0) * Math.cosh(2 * j * eta0);
    eta += alpha[j - 1] * Math.cos(2 * j * xi0) * Math.sinh(2 * j * eta0);
  }
  const falseEasting = 500000 + (prefixed ? zone * 1e6 : 0);
  return { easting: falseEasting + rectifyingRadius * eta, northing: rectifyingRadius * xi };
}
