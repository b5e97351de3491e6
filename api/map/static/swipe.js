// Two dates side by side: a swipe view of the city at date A (the page's map) and date B (a
// second MapLibre map laid over it, clipped at the handle). Both ask the tiles for their date
// (``datetime``) and follow each other's camera. Everything comes from this server.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { $, esc } from "/map/static/dom.js";
import { sameOrigin } from "/map/static/http.js";
import { hooks, state } from "/map/static/state.js";
import { applyTime } from "/map/static/time.js";
import { et } from "/map/static/edit_text.js";

const S = { map: null, box: null, a: null, b: null, split: 0.5, syncing: false };
hooks.swipe = S;

function timed(url, when) {
  const u = new URL(url, window.location.href);
  u.searchParams.set("datetime", when);
  return decodeURI(u.toString()).replace(/%7B/g, "{").replace(/%7D/g, "}");
}

const instant = (day) => `${day}T23:59:59+08:00`;

/** The page's style with every tile source asking for ``when``, and today's layer visibility. */
function styleAt(when) {
  const style = structuredClone(state.style);
  for (const source of Object.values(style.sources)) if (source.tiles) source.tiles = source.tiles.map((u) => timed(u, when));
  for (const layer of style.layers) {
    const shown = state.map.getLayer(layer.id) ? state.map.getLayoutProperty(layer.id, "visibility") : undefined;
    if (shown) layer.layout = { ...(layer.layout || {}), visibility: shown };
  }
  return style;
}

/** Point the page's own map (side A) at ``when``. */
function timeMain(when) {
  for (const [id, source] of Object.entries(state.style.sources)) {
    const live = state.map.getSource(id);
    if (live && source.tiles) live.setTiles(source.tiles.map((u) => timed(u, when)));
  }
}

function clip() {
  const w = S.box.clientWidth;
  const x = Math.round(w * S.split);
  S.box.querySelector(".sw-b").style.clipPath = `inset(0 0 0 ${x}px)`;
  S.box.querySelector(".sw-handle").style.left = `${x}px`;
}

function follow(from, to) {
  from.on("move", () => {
    if (S.syncing) return;
    S.syncing = true;
    to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
    S.syncing = false;
  });
}

function dragHandle() {
  const handle = S.box.querySelector(".sw-handle");
  handle.onpointerdown = (ev) => {
    handle.setPointerCapture(ev.pointerId);
    handle.onpointermove = (e) => {
      const r = S.box.getBoundingClientRect();
      S.split = Math.min(0.98, Math.max(0.02, (e.clientX - r.left) / r.width));
      clip();
    };
    handle.onpointerup = () => { handle.onpointermove = null; };
  };
}

/** Open the swipe view: A on the left (the page's map), B on the right; dates default to 10 years apart. */
export function openSwipe(dayA, dayB) {
  closeSwipe();
  const year = new Date().getFullYear();
  S.a = dayA || `${year - 10}-12-31`;
  S.b = dayB || new Date().toISOString().slice(0, 10);
  const box = document.createElement("div");
  box.className = "swipe";
  box.innerHTML = `<div class="sw-b"></div><div class="sw-handle" role="separator" aria-label="${esc(et("swipe"))}"></div>
    <div class="sw-bar"><label>${esc(et("dateA"))} <input type="date" class="sw-date-a" value="${esc(S.a)}"></label>
    <label>${esc(et("dateB"))} <input type="date" class="sw-date-b" value="${esc(S.b)}"></label>
    <button type="button" class="sw-close">${esc(et("close"))}</button></div>`;
  const mapEl = $("map");
  box.style.left = `${mapEl.offsetLeft}px`;
  box.style.width = `${mapEl.clientWidth}px`;
  mapEl.parentElement.appendChild(box);
  S.box = box;
  const main = state.map;
  S.map = new maplibregl.Map({
    container: box.querySelector(".sw-b"), style: styleAt(instant(S.b)), attributionControl: false,
    center: main.getCenter(), zoom: main.getZoom(), bearing: main.getBearing(), pitch: main.getPitch(),
    canvasContextAttributes: { preserveDrawingBuffer: true },
    transformRequest: (url) => (state.token && sameOrigin(url) ? { url, headers: { Authorization: `Bearer ${state.token}` } } : { url }),
  });
  follow(main, S.map);
  follow(S.map, main);
  timeMain(instant(S.a));
  box.querySelector(".sw-date-a").onchange = (e) => { S.a = e.target.value; timeMain(instant(S.a)); document.body.dataset.swipe = `${S.a}|${S.b}`; };
  box.querySelector(".sw-date-b").onchange = (e) => { S.b = e.target.value; S.map.setStyle(styleAt(instant(S.b))); document.body.dataset.swipe = `${S.a}|${S.b}`; };
  box.querySelector(".sw-close").onclick = closeSwipe;
  dragHandle();
  clip();
  window.addEventListener("resize", clip);
  document.body.dataset.swipe = `${S.a}|${S.b}`;
  return S.map;
}

/** Close the swipe view; the page's map goes back to the time slider's date. */
export function closeSwipe() {
  if (!S.map) return;
  S.map.remove();
  S.box.remove();
  S.map = null;
  S.box = null;
  window.removeEventListener("resize", clip);
  applyTime();
  delete document.body.dataset.swipe;
}
