// The way from the 2D map to the 3D viewer (/map3d): a button that opens it at the current view,
// and links that fly there from a search result. The view travels in the address (#lon,lat,range,...).
import { $ } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";

const EARTH_M = 40075016.686;
const HALF_FOV = Math.PI / 6;  // CesiumJS's default 60° field of view (across the wider side)

/** ``/map3d#lon,lat,range,heading,pitch``: the 3D viewer looking at (lon, lat) from ``range`` metres. */
export function map3dHref(lon, lat, range = 400, heading = 0, pitch = -45) {
  return `/map3d#${lon.toFixed(6)},${lat.toFixed(6)},${Math.round(range)},${Math.round(heading)},${Math.round(pitch)}`;
}

/** The 3D view matching the 2D map's: same centre, a distance showing the same width, same tilt. */
export function currentMap3dHref(map) {
  const { lng, lat } = map.getCenter();
  const canvas = map.getCanvas();
  const wide = Math.max(canvas.clientWidth, canvas.clientHeight);
  const metresPerPixel = (EARTH_M * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
  const range = (metresPerPixel * wide) / 2 / Math.tan(HALF_FOV);
  return map3dHref(lng, lat, range, map.getBearing(), Math.min(-20, map.getPitch() - 90));
}

/** Put the 3D button in the bar (after the 3D-buildings toggle); it opens /map3d at the current view. */
export function setupMap3dButton() {
  if ($("open-3d")) return;
  const button = document.createElement("a");
  button.id = "open-3d";
  button.className = "bar-link";
  button.href = "/map3d";
  const label = () => { button.textContent = pick("三维", "3D view"); button.title = pick("三维地下管线", "Pipes underground in 3D"); };
  label();
  $("lang").addEventListener("click", label);  // after main.js's own handler has switched the language
  // The address is read at the moment of the click, so the 3D view starts where the map is now.
  button.onclick = (ev) => { ev.preventDefault(); window.location.href = currentMap3dHref(state.map); };
  $("toggle-3d").after(button);
}
