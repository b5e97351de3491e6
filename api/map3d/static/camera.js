// Where the camera is, in the address: /map3d#lon,lat,range[,heading,pitch] looks at (lon, lat) on the
// ground from ``range`` metres away. The 2D map's 3D button and its search results open such links.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { view } from "/map3d/static/state3d.js";

const DEFAULT_RANGE = 1500;
const DEFAULT_PITCH = -40;

/** The view the address asks for, or null when it names none (or nonsense). */
export function parseHash(hash) {
  const parts = hash.replace(/^#/, "").split(",").map(Number);
  if (parts.length < 2 || parts.some((n) => !Number.isFinite(n))) return null;
  const [lon, lat, range = DEFAULT_RANGE, heading = 0, pitch = DEFAULT_PITCH] = parts;
  if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return null;
  return { lon, lat, range: Math.max(range, 5), heading, pitch: Math.max(-90, Math.min(90, pitch)) };
}

/** Point the camera at ``target`` (from parseHash) at once. */
export function lookAt(target) {
  const camera = view.viewer.camera;
  const centre = Cesium.Cartesian3.fromDegrees(target.lon, target.lat, view.groundHeight || 0);
  const offset = new Cesium.HeadingPitchRange(
    Cesium.Math.toRadians(target.heading), Cesium.Math.toRadians(target.pitch), target.range);
  camera.lookAt(centre, offset);
  camera.lookAtTransform(Cesium.Matrix4.IDENTITY);  // free the camera again for the mouse
}

/** The point the camera looks at on the ground (centre of the screen), as lon, lat, range. */
function currentTarget() {
  const scene = view.viewer.scene;
  const camera = scene.camera;
  const centre = new Cesium.Cartesian2(scene.canvas.clientWidth / 2, scene.canvas.clientHeight / 2);
  const ray = camera.getPickRay(centre);
  const hit = ray && scene.globe.pick(ray, scene);
  const ground = hit || camera.positionWC;
  const carto = Cesium.Cartographic.fromCartesian(ground);
  const range = hit ? Cesium.Cartesian3.distance(camera.positionWC, hit) : camera.positionCartographic.height;
  return {
    lon: Cesium.Math.toDegrees(carto.longitude), lat: Cesium.Math.toDegrees(carto.latitude), range,
    heading: Cesium.Math.toDegrees(camera.heading), pitch: Cesium.Math.toDegrees(camera.pitch),
  };
}

/** Keep the address in step with the camera (replaceState: no history entry per move). */
export function followCamera() {
  view.viewer.camera.moveEnd.addEventListener(() => {
    const c = currentTarget();
    const hash = `#${c.lon.toFixed(6)},${c.lat.toFixed(6)},${Math.round(c.range)},${Math.round(c.heading)},${Math.round(c.pitch)}`;
    history.replaceState(null, "", hash);
  });
  window.addEventListener("hashchange", () => {
    const target = parseHash(window.location.hash);
    if (target) lookAt(target);
  });
}
