// Looking under the street: a translucent ground with an opacity slider, a camera that may go below the
// ground (no collision), and the depth of whatever is under the cursor, in metres below the ground.
import * as Cesium from "/vendor/cesium/Build/Cesium/index.js";
import { $, esc } from "/map/static/dom.js";
import { t } from "/map3d/static/i18n3d.js";
import { view } from "/map3d/static/state3d.js";

const UNDERGROUND_OPACITY = 0.35;

/** Make the ground ``opacity`` (0–1) opaque; below 1 the pipes show through it. */
export function setGroundOpacity(opacity) {
  const globe = view.viewer.scene.globe;
  view.groundOpacity = opacity;
  globe.translucency.enabled = opacity < 1;
  globe.translucency.frontFaceAlpha = opacity;
  globe.translucency.backFaceAlpha = opacity;
  $("ground-opacity").value = String(Math.round(opacity * 100));
  $("ground-opacity-value").textContent = `${Math.round(opacity * 100)}%`;
  view.viewer.scene.requestRender();
}

/** Underground mode: the camera may pass through the ground, which turns translucent. */
export function setUnderground(on) {
  const scene = view.viewer.scene;
  view.underground = on;
  scene.screenSpaceCameraController.enableCollisionDetection = !on;
  $("underground").setAttribute("aria-pressed", String(on));
  if (on && view.groundOpacity >= 1) setGroundOpacity(UNDERGROUND_OPACITY);
  if (!on) setGroundOpacity(1);
}

/** The world position under a screen point: a 3D feature's surface if there is one, else the ground. */
export function positionAt(scene, point) {
  if (scene.pickPositionSupported) {
    const picked = scene.pick(point);
    if (picked instanceof Cesium.Cesium3DTileFeature) {
      const position = scene.pickPosition(point);
      if (position) return { position, feature: picked };
    }
  }
  const ray = scene.camera.getPickRay(point);
  const ground = ray && scene.globe.pick(ray, scene);
  return ground ? { position: ground, feature: null } : null;
}

/** Height above the ellipsoid and depth below the ground (metres) of a world position. */
export function depthOf(scene, position) {
  const carto = Cesium.Cartographic.fromCartesian(position);
  const ground = scene.globe.getHeight(carto) ?? 0;
  return { lon: Cesium.Math.toDegrees(carto.longitude), lat: Cesium.Math.toDegrees(carto.latitude),
           height: carto.height, depth: ground - carto.height };
}

function showDepth(scene, point) {
  const hit = positionAt(scene, point);
  const out = $("depth");
  if (!hit) { out.textContent = ""; return; }
  const d = depthOf(scene, hit.position);
  view.lastDepth = d;
  const depth = Math.abs(d.depth) < 0.005 ? 0 : d.depth;
  // The tiles' heights are relative to the local ground (the ellipsoid), so depth is all they tell;
  // absolute 1985 elevations are in each pipe's metadata (the popup).
  out.innerHTML = `${esc(t("depth"))} <b>${depth.toFixed(2)} m</b> · ${d.lon.toFixed(6)}, ${d.lat.toFixed(6)}`;
}

/** Wire the slider, the underground button and the depth readout (mouse move, or a touch). */
export function setupUnderground() {
  const viewer = view.viewer;
  const globe = viewer.scene.globe;
  globe.undergroundColor = Cesium.Color.fromCssColorString("#3b3026");
  globe.translucency.enabled = false;
  $("ground-opacity").oninput = (ev) => setGroundOpacity(Number(ev.target.value) / 100);
  $("underground").onclick = () => setUnderground(!view.underground);
  const handler = new Cesium.ScreenSpaceEventHandler(viewer.scene.canvas);
  let pending = false;
  handler.setInputAction((movement) => {
    if (pending) return;  // one pick per frame is plenty (picking renders the scene once more)
    pending = true;
    requestAnimationFrame(() => { pending = false; showDepth(viewer.scene, movement.endPosition); });
  }, Cesium.ScreenSpaceEventType.MOUSE_MOVE);
  view.showDepthAt = (point) => showDepth(viewer.scene, point);
  return handler;
}
