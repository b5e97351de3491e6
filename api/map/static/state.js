// The page's one store, and the test hooks on window.onemap (state, ready, map, lastHits, lastPopup).
export const state = {
  lang: localStorage.getItem("onemap.lang") || "zh",
  token: sessionStorage.getItem("onemap.token"),
  config: null, legend: [], style: null, map: null,
  visible: {}, opacity: {}, threeD: false, year: null, baseOpacity: {},
  analysisMode: null,  // set while the analysis panel owns map clicks (analysis.js)
};

let readyResolve;
// The browser tests read these; main.js adds .map, identify.js .lastHits and .lastPopup.
export const hooks = { state, ready: new Promise((resolve) => { readyResolve = resolve; }) };
window.onemap = hooks;

/** Resolve window.onemap.ready once the map has drawn its first frame. */
export function markReady(map) {
  readyResolve(map);
}
