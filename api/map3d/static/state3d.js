// The 3D page's store and its test hooks (window.onemap3d). The signed-in token and the language
// live in the 2D map's store (/map/static/state.js), so both pages share one session and one language.
import { state } from "/map/static/state.js";

export const CESIUM = "/vendor/cesium/Build/Cesium/index.js";

/** What the 3D page holds: its configuration, the viewer, the tilesets by layer id, the time. */
export const view = {
  config: null, viewer: null, tilesets: {}, visible: {}, year: null, draped: null, underground: false,
  groundOpacity: 1, generation: 0,
};

let readyResolve;
// The browser tests read these: view, ready, and (once a click identified something) lastPick.
export const hooks3d = { view, state, ready: new Promise((resolve) => { readyResolve = resolve; }), lastPick: null };
window.onemap3d = hooks3d;

/** Resolve window.onemap3d.ready once the viewer has its configuration and tilesets. */
export function markReady() {
  readyResolve(view.viewer);
  document.body.dataset.ready = "1";
}

/** Headers for our own server: the signed-in planner's token (the cookie, if any, goes by itself). */
export function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}
