// One Map web map: MapLibre GL JS from our own /vendor, styles and tiles from this server only.
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { gaussKruger } from "/map/static/gk.js";

const TEXT = {
  zh: {
    title: "一张图", subtitle: "长沙时空信息云平台", layers: "图层", legend: "图例", threeD: "3D 建筑",
    signIn: "登录", signOut: "退出", user: "用户名", password: "密码", cancel: "取消", asOf: "时间",
    now: "现在", searchHint: "网格编码、建筑名称或地址、站名", sample: "示例数据", opacity: "透明度",
    versions: "历史版本", noResults: "没有找到", signInFailed: "登录失败：", signInMissing: "此服务器未提供登录",
    version: "版本", validFrom: "生效", loading: "加载中…", lang: "EN", restricted: "受限",
  },
  en: {
    title: "One Map", subtitle: "Changsha spatio-temporal platform", layers: "Layers", legend: "Legend",
    threeD: "3D buildings", signIn: "Sign in", signOut: "Sign out", user: "User", password: "Password",
    cancel: "Cancel", asOf: "As of", now: "now", searchHint: "Grid code, building name or address, station",
    sample: "sample data", opacity: "Opacity", versions: "Versions", noResults: "Nothing found",
    signInFailed: "Sign-in failed: ", signInMissing: "This server offers no sign-in", version: "Version",
    validFrom: "Valid from", loading: "Loading…", lang: "中文", restricted: "restricted",
  },
};
const CJK_FONTS = "'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";
const HIDDEN_BY_DEFAULT = new Set(["ghsl_built_volume", "ghsl_building_height", "ghsl_built_age"]);
const OPACITY_PAINT = {
  fill: ["fill-opacity"], line: ["line-opacity"], circle: ["circle-opacity", "circle-stroke-opacity"],
  "fill-extrusion": ["fill-extrusion-opacity"], raster: ["raster-opacity"], symbol: ["text-opacity"],
};

const state = {
  lang: localStorage.getItem("onemap.lang") || "zh",
  token: sessionStorage.getItem("onemap.token"),
  config: null, legend: [], style: null, map: null,
  visible: {}, opacity: {}, threeD: false, year: null, baseOpacity: {},
};
let readyResolve;
window.onemap = { state, ready: new Promise((resolve) => { readyResolve = resolve; }) };

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key] ?? key;
const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const title = (c) => (state.lang === "zh" ? c.title_zh : c.title_en);

function sameOrigin(url) {
  try { return new URL(url, window.location.href).origin === window.location.origin; } catch { return false; }
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (response.status === 401 && state.token) {
    signOut();
    throw new Error("signed out: the token expired");
  }
  return response;
}

async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// ---- time ---------------------------------------------------------------------------------------
function asOfParam() {
  return state.year === null ? null : `${state.year}-12-31T23:59:59Z`;
}

function withDatetime(url) {
  const u = new URL(url, window.location.href);
  const value = asOfParam();
  if (value) u.searchParams.set("datetime", value); else u.searchParams.delete("datetime");
  return decodeURI(u.toString()).replace(/%7B/g, "{").replace(/%7D/g, "}");
}

function applyTime() {
  const map = state.map;
  for (const [id, source] of Object.entries(state.style.sources)) {
    const live = map.getSource(id);
    if (live && source.tiles) live.setTiles(source.tiles.map(withDatetime));
  }
  $("time-label").textContent = state.year === null ? t("now") : String(state.year);
  document.body.dataset.asOf = asOfParam() || "";
}

function setupTime() {
  const slider = $("time-slider");
  const { min, max } = state.config.time;
  slider.min = String(min);
  slider.max = String(max);
  slider.value = String(state.year ?? max);
  let pending = null;
  slider.oninput = () => {
    const year = Number(slider.value);
    state.year = year >= max ? null : year;
    $("time-label").textContent = state.year === null ? t("now") : String(state.year);
    clearTimeout(pending);
    pending = setTimeout(applyTime, 150);
  };
}

// ---- layer tree, opacity, legend -----------------------------------------------------------------
function styleLayersOf(collection) {
  return state.style.layers.filter((l) => l.metadata && l.metadata["onemap:collection"] === collection);
}

function applyVisibility(collection) {
  const layers = styleLayersOf(collection);
  const hasThreeD = layers.some((l) => l.metadata["onemap:role"] === "3d");
  for (const layer of layers) {
    let on = state.visible[collection];
    if (layer.metadata["onemap:role"] === "3d") on = on && state.threeD;
    else if (hasThreeD && layer.type === "fill") on = on && !state.threeD;
    state.map.setLayoutProperty(layer.id, "visibility", on ? "visible" : "none");
  }
}

function applyOpacity(collection) {
  const factor = state.opacity[collection] ?? 1;
  for (const layer of styleLayersOf(collection)) {
    for (const prop of OPACITY_PAINT[layer.type] || []) {
      const key = `${layer.id}|${prop}`;
      if (!(key in state.baseOpacity)) {
        const base = state.map.getPaintProperty(layer.id, prop);
        state.baseOpacity[key] = typeof base === "number" ? base : 1;
      }
      state.map.setPaintProperty(layer.id, prop, state.baseOpacity[key] * factor);
    }
  }
}

function renderTree() {
  const tree = $("tree");
  tree.innerHTML = "";
  for (const group of state.config.groups) {
    const box = document.createElement("details");
    box.open = true;
    box.className = "group";
    box.innerHTML = `<summary>${esc(state.lang === "zh" ? group.title_zh : group.title_en)}</summary>`;
    for (const id of group.collections) {
      const c = state.config.collections[id];
      const row = document.createElement("div");
      row.className = "layer";
      row.dataset.collection = id;
      const badge = c.sample ? `<span class="badge">${esc(t("sample"))}</span>` : "";
      const lock = c.access === "restricted" ? `<span class="lock" title="${esc(t("restricted"))}">🔒</span>` : "";
      row.innerHTML = `<label><input type="checkbox" ${state.visible[id] ? "checked" : ""}>
        <span class="name">${esc(title(c))}</span>${badge}${lock}</label>
        <input class="opacity" type="range" min="0" max="100" value="${Math.round((state.opacity[id] ?? 1) * 100)}"
          aria-label="${esc(t("opacity"))}" title="${esc(t("opacity"))}">`;
      row.querySelector("input[type=checkbox]").onchange = (ev) => {
        state.visible[id] = ev.target.checked;
        applyVisibility(id);
        renderLegend();
      };
      row.querySelector(".opacity").oninput = (ev) => {
        state.opacity[id] = Number(ev.target.value) / 100;
        applyOpacity(id);
      };
      box.appendChild(row);
    }
    tree.appendChild(box);
  }
}

function swatch(entry, item) {
  if (entry.symbol === "line") return `<i class="sw line" style="border-color:${esc(item.color)}"></i>`;
  if (entry.symbol === "circle") return `<i class="sw dot" style="background:${esc(item.color)}"></i>`;
  if (entry.symbol === "outline") return `<i class="sw outline" style="border-color:${esc(item.color)}"></i>`;
  return `<i class="sw" style="background:${esc(item.color)}"></i>`;
}

function renderLegend() {
  const box = $("legend");
  const parts = [];
  for (const entry of state.legend) {
    if (!state.visible[entry.collection]) continue;
    const badge = entry.sample ? `<span class="badge">${esc(state.lang === "zh" ? entry.badge_zh : entry.badge_en)}</span>` : "";
    let body;
    if (entry.gradient) {
      const stops = entry.gradient.map((s) => s.color).join(",");
      const first = entry.gradient[0].value;
      const last = entry.gradient[entry.gradient.length - 1].value;
      body = `<div class="ramp" style="background:linear-gradient(to right,${esc(stops)})"></div>
        <div class="ramp-labels"><span>${esc(first)}</span><span>${esc(last)} ${esc(entry.unit || "")}</span></div>`;
    } else {
      body = entry.items.map((item) => `<div class="item">${swatch(entry, item)}${esc(state.lang === "zh" ? item.label_zh : item.label_en)}</div>`).join("");
    }
    if (entry.dashed) body += `<div class="item"><i class="sw line dashed"></i>${esc(state.lang === "zh" ? entry.dashed.label_zh : entry.dashed.label_en)}</div>`;
    parts.push(`<div class="legend-entry" data-collection="${esc(entry.collection)}"><h3>${esc(state.lang === "zh" ? entry.title_zh : entry.title_en)}${badge}</h3>${body}</div>`);
  }
  box.innerHTML = parts.join("");
}

// ---- identify ------------------------------------------------------------------------------------
function propertyRows(collection, props) {
  const fields = state.config.collections[collection].fields;
  return Object.entries(props)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => {
      const f = fields[k];
      const label = f ? (state.lang === "zh" ? f.zh : f.en) : k;
      const unit = f && f.unit ? ` ${f.unit}` : "";
      return `<tr><th>${esc(label)}</th><td>${esc(v)}${esc(unit)}</td></tr>`;
    })
    .join("");
}

function popupHtml(collection, fid, props, extra = "") {
  const c = state.config.collections[collection];
  const badge = c.sample ? ` <span class="badge">${esc(t("sample"))}</span>` : "";
  const base = `/collections/${encodeURIComponent(collection)}/items/${fid}`;
  return `<div class="identify" data-collection="${esc(collection)}" data-fid="${esc(fid)}">
    <h3>${esc(title(c))}${badge}</h3>${extra}<table>${propertyRows(collection, props)}</table>
    <p><a href="${esc(base)}/versions" target="_blank" rel="noopener">${esc(t("versions"))}</a> ·
       <a href="${esc(base)}" target="_blank" rel="noopener">GeoJSON</a></p></div>`;
}

async function identify(event) {
  const map = state.map;
  const hits = map.queryRenderedFeatures(event.point).filter((f) => f.layer.metadata && f.layer.metadata["onemap:collection"] && f.id !== undefined);
  window.onemap.lastHits = hits.map((f) => `${f.layer.id}:${f.id}`);
  if (!hits.length) return;
  // Labels sit above everything; the feature under the cursor is the topmost drawn shape.
  const feature = hits.find((f) => f.layer.type !== "symbol") || hits[0];
  const collection = feature.layer.metadata["onemap:collection"];
  const popup = new maplibregl.Popup({ maxWidth: "340px" })
    .setLngLat(event.lngLat)
    .setHTML(popupHtml(collection, feature.id, feature.properties, `<p class="muted">${esc(t("loading"))}</p>`))
    .addTo(map);
  window.onemap.lastPopup = popup;
  const when = asOfParam();
  const url = `/collections/${encodeURIComponent(collection)}/items/${feature.id}` + (when ? `?datetime=${encodeURIComponent(when)}` : "");
  try {
    const response = await api(url, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(String(response.status));
    const item = await response.json();
    const props = { ...(item.properties || {}) };
    const version = props.version ?? item.version;
    const meta = version !== undefined ? `<p class="muted">${esc(t("version"))} ${esc(version)}</p>` : "";
    for (const key of ["version", "valid_from", "valid_to", "recorded_at", "superseded_at", "changeset_id"]) delete props[key];
    popup.setHTML(popupHtml(collection, feature.id, props, meta));
  } catch {
    popup.setHTML(popupHtml(collection, feature.id, feature.properties));
  }
  document.body.dataset.identified = `${collection}/${feature.id}`;
}

// ---- search --------------------------------------------------------------------------------------
function setupSearch() {
  const input = $("search");
  const list = $("search-results");
  let pending = null;
  input.oninput = () => {
    clearTimeout(pending);
    const q = input.value.trim();
    if (!q) { list.hidden = true; return; }
    pending = setTimeout(async () => {
      const data = await getJson(`/search?q=${encodeURIComponent(q)}&limit=10`);
      list.innerHTML = data.results.length
        ? data.results.map((r, i) => `<li><button type="button" data-i="${i}"><b>${esc(r.label)}</b>
            <small>${esc(state.lang === "zh" ? r.title_zh : r.title_en)} · ${esc(r.value)}</small></button></li>`).join("")
        : `<li class="muted">${esc(t("noResults"))}</li>`;
      list.hidden = false;
      list.querySelectorAll("button").forEach((b) => {
        b.onclick = () => {
          const r = data.results[Number(b.dataset.i)];
          const [w, s, e, n] = r.bbox;
          state.map.fitBounds([[w, s], [e, n]], { maxZoom: 17, padding: 80, duration: 0 });
          new maplibregl.Popup().setLngLat(r.point).setHTML(`<b>${esc(r.label)}</b><br>${esc(state.lang === "zh" ? r.title_zh : r.title_en)}`).addTo(state.map);
          list.hidden = true;
        };
      });
    }, 200);
  };
}

// ---- coordinates, 3D, language, sign-in ------------------------------------------------------------
function setupCoords() {
  const zone = state.config.gkZone;
  state.map.on("mousemove", (e) => {
    const { lng, lat } = e.lngLat;
    const gk = gaussKruger(lng, lat, zone);
    $("coords").textContent = `CGCS2000 ${lng.toFixed(6)}°E ${lat.toFixed(6)}°N · `
      + `GK ${zone} (EPSG:${state.config.gkEpsg}) X ${gk.northing.toFixed(2)} m  Y ${gk.easting.toFixed(2)} m`;
  });
}

function setThreeD(on) {
  state.threeD = on;
  $("toggle-3d").setAttribute("aria-pressed", String(on));
  if ("buildings" in state.config.collections) applyVisibility("buildings");
  state.map.easeTo({ pitch: on ? 55 : 0, duration: 0 });
}

function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $("lang").textContent = t("lang");
  $("time-label").textContent = state.year === null ? t("now") : String(state.year);
}

function showWho() {
  const p = state.config.principal;
  $("who").hidden = p.anonymous;
  $("who").textContent = p.anonymous ? "" : p.name;
  $("signout").hidden = p.anonymous;
  $("signin-open").hidden = !p.anonymous;
}

function signOut() {
  state.token = null;
  sessionStorage.removeItem("onemap.token");
  fetch("/auth/logout", { method: "POST", credentials: "same-origin" }).catch(() => {}).finally(() => reload());
}

function setupSignIn() {
  const dialog = $("signin");
  $("signin-open").onclick = () => { $("signin-error").hidden = true; dialog.showModal(); };
  $("signin-cancel").onclick = () => dialog.close();
  $("signout").onclick = signOut;
  $("signin-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const body = new URLSearchParams({ username: form.get("username"), password: form.get("password") });
    const response = await fetch(state.config.signIn, { method: "POST", body, credentials: "same-origin" });
    const error = $("signin-error");
    if (!response.ok) {
      error.textContent = response.status === 404 || response.status === 405 ? t("signInMissing")
        : t("signInFailed") + ((await response.json().catch(() => ({}))).detail || response.status);
      error.hidden = false;
      return;
    }
    const data = await response.json().catch(() => ({}));
    if (data.access_token) {
      state.token = data.access_token;
      sessionStorage.setItem("onemap.token", state.token);
    }
    dialog.close();
    await reload();
  };
}

// ---- start -----------------------------------------------------------------------------------------
async function loadConfig() {
  state.config = await getJson("/map/config");
  state.style = await getJson(state.config.style);
  state.legend = await getJson(state.config.legend);
  for (const id of Object.keys(state.config.collections)) {
    if (!(id in state.visible)) state.visible[id] = !HIDDEN_BY_DEFAULT.has(id);
  }
  // Hidden layers start hidden, so their tiles are never fetched until someone switches them on.
  for (const layer of state.style.layers) {
    const id = layer.metadata && layer.metadata["onemap:collection"];
    if (id && !state.visible[id]) layer.layout = { ...(layer.layout || {}), visibility: "none" };
  }
}

function applyAll() {
  for (const id of Object.keys(state.config.collections)) {
    applyVisibility(id);
    if (state.opacity[id] !== undefined) applyOpacity(id);
  }
  if (state.year !== null) applyTime();
}

async function reload() {
  await loadConfig();
  state.baseOpacity = {};
  state.map.setStyle(state.style, { diff: false });
  state.map.once("styledata", () => applyAll());
  renderTree();
  renderLegend();
  showWho();
  setupTime();
}

function setupPanel() {
  const panel = $("panel");
  const toggle = $("panel-toggle");
  if (window.innerWidth < 900) { panel.classList.add("closed"); toggle.setAttribute("aria-expanded", "false"); }
  toggle.onclick = () => {
    const closed = panel.classList.toggle("closed");
    toggle.setAttribute("aria-expanded", String(!closed));
    setTimeout(() => state.map.resize(), 50);
  };
  document.querySelectorAll(".tab").forEach((tab) => {
    tab.onclick = () => {
      document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === tab));
      $("tree").hidden = tab.dataset.tab !== "tree";
      $("legend").hidden = tab.dataset.tab !== "legend";
    };
  });
}

async function main() {
  await loadConfig();
  translate();
  setupPanel();
  const map = new maplibregl.Map({
    container: "map",
    style: state.style,
    center: state.config.center,
    zoom: state.config.zoom,
    localIdeographFontFamily: CJK_FONTS,
    attributionControl: { compact: true },
    canvasContextAttributes: { preserveDrawingBuffer: true },
    transformRequest: (url) => (state.token && sameOrigin(url)
      ? { url, headers: { Authorization: `Bearer ${state.token}` } } : { url }),
  });
  state.map = map;
  window.onemap.map = map;
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-right");
  map.on("click", identify);
  map.on("mousemove", (e) => {
    const over = map.queryRenderedFeatures(e.point).some((f) => f.id !== undefined && f.layer.metadata);
    map.getCanvas().style.cursor = over ? "pointer" : "";
  });
  renderTree();
  renderLegend();
  showWho();
  setupTime();
  setupSearch();
  setupSignIn();
  $("toggle-3d").onclick = () => setThreeD(!state.threeD);
  $("lang").onclick = () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("onemap.lang", state.lang);
    translate();
    renderTree();
    renderLegend();
  };
  map.on("load", () => {
    document.querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
    applyAll();
    setupCoords();
    map.once("idle", () => {
      document.body.dataset.ready = "1";
      readyResolve(map);
    });
  });
}

main().catch((err) => {
  console.error("One Map failed to start:", err);
  document.body.dataset.failed = String(err);
});
