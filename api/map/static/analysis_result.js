// The analysis panel's result: summary, drawing (SVG), lists (valves to close, affected buildings,
// pipes in the way, owners, violations), and the GeoJSON/CSV downloads.
import { $, esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";

const TITLES = {
  segments: ["管段", "Segments"], points: ["管点", "Points"], valves: ["需关闭阀门", "Valves to close"],
  isolated: ["停水管段", "Isolated pipes"], cut_off: ["失去水源管段", "Cut-off pipes"],
  affected_buildings: ["受影响建筑", "Affected buildings"], affected_components: ["受影响部件", "Affected components"],
  pipes: ["管线", "Pipes"], buildings: ["建筑", "Buildings"], components: ["部件", "Components"],
  owners: ["需通知权属单位", "Owners to notify"], violations: ["净距不足", "Clearance violations"],
  wells: ["检查井", "Wells"],
};
const LIST_KEYS = ["name", "segment_no", "point_no", "pipe_category_zh", "owner", "size", "top_depth_m", "rule",
  "required_m", "actual_m", "offset_m", "categories", "address", "use", "station_m", "invert_elev_m", "slope_permille"];
const MAX_ROWS = 50;

function label(name) {
  const t = TITLES[name];
  return t ? pick(t[0], t[1]) : name;
}

function rowText(props, id) {
  const parts = LIST_KEYS.filter((k) => props[k] !== undefined && props[k] !== null && props[k] !== "")
    .map((k) => (Array.isArray(props[k]) ? props[k].join("、") : props[k]));
  if (parts.length) return parts.join(" · ");
  return id !== undefined && id !== null ? `#${id}` : JSON.stringify(props).slice(0, 120);
}

function listHtml(name, items, valveButtons) {
  const rows = items.slice(0, MAX_ROWS).map((item) => {
    const props = item.properties || item;
    const ref = props.point_no || item.id;
    const failed = valveButtons && ref !== undefined
      ? ` <button type="button" class="an-fail" data-valve="${esc(ref)}">${esc(pick("设为失效", "Mark failed"))}</button>` : "";
    return `<li data-id="${esc(item.id ?? "")}">${esc(rowText(props, item.id))}${failed}</li>`;
  }).join("");
  const more = items.length > MAX_ROWS ? `<li class="muted">… ${items.length - MAX_ROWS}</li>` : "";
  return `<details class="an-list" data-output="${esc(name)}" open><summary>${esc(label(name))} (${items.length})</summary>
    <ul>${rows}${more}</ul></details>`;
}

function safeSvg(text) {
  // Our own server drew it; parsed as SVG (not HTML) and stripped of scripts and handlers all the same.
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return null;
  svg.querySelectorAll("script, foreignObject").forEach((n) => n.remove());
  svg.querySelectorAll("*").forEach((n) => [...n.attributes].forEach((a) => { if (/^on/i.test(a.name)) n.removeAttribute(a.name); }));
  return document.importNode(svg, true);
}

function summaryHtml(summary) {
  const rows = Object.entries(summary || {}).filter(([, v]) => v !== null && typeof v !== "object")
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
  return rows ? `<table class="an-summary">${rows}</table>` : "";
}

/** Show ``last`` (``{process, results}`` or ``{process, error}``) in the panel. */
export function showResult(last, { onValve, onDownload }) {
  const box = $("an-result");
  if (!box || !last) return;
  if (last.error) {
    box.innerHTML = `<p class="error" role="alert">${esc(last.error)}</p>`;
    return;
  }
  const r = last.results;
  // Downloads first: the end of a long result may sit under the map's coordinate bar.
  const parts = [`<h4>${esc(last.process)}</h4>`, `<div class="an-buttons">
    <button type="button" data-download="geojson">${esc(pick("下载 GeoJSON", "GeoJSON"))}</button>
    <button type="button" data-download="csv">${esc(pick("下载 CSV", "CSV"))}</button></div>`, summaryHtml(r.summary)];
  if (r.message) parts.push(`<p class="muted">${esc(r.message)}</p>`);
  for (const [name, value] of Object.entries(r)) {
    if (value && value.type === "FeatureCollection") parts.push(listHtml(name, value.features, name === "valves" || name === "failed_valves"));
    else if (Array.isArray(value)) parts.push(listHtml(name, value, false));
  }
  parts.push(`<div id="an-svg" class="an-svg"></div>`);
  box.innerHTML = parts.join("");
  const svgText = Object.values(r).find((v) => typeof v === "string" && /<svg[\s>]/.test(v.slice(0, 400)));
  const svg = svgText ? safeSvg(svgText) : null;
  if (svg) $("an-svg").append(svg);
  box.querySelectorAll("[data-valve]").forEach((b) => { b.onclick = () => onValve(b.dataset.valve); });
  box.querySelectorAll("[data-download]").forEach((b) => { b.onclick = () => onDownload(b.dataset.download); });
}
