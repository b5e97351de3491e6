// 综合评价 dashboard: a period and an area or department grouping; the indicator table from
// /cases/stats, ECharts charts, hotspot cells as choropleth and heatmap, and CSV/XLSX links.
import { $, esc, failed, fmtHours, getJson, hooks, loadMe, markReady } from "/cases-static/common.js";
import { drawCharts } from "/cases-static/charts.js";
import { loadCodes } from "/cases-static/codes.js";
import { setupHotspots, showHotspots } from "/cases-static/hotspots.js";
import { setupLanguage } from "/cases-static/i18n.js";

const dash = { stats: null, hotspots: null, loads: 0 };
hooks.dashboard = dash;
const COLUMNS = ["reported", "accepted", "closed", "on_time_disposal_rate", "on_time_close_rate", "rework_rate", "overdue", "avg_handling_h"];

const isoDay = (d) => d.toISOString().slice(0, 10);
const pct = (v) => (v === null || v === undefined ? "—" : `${(Number(v) * 100).toFixed(1)}%`);

function cell(row, column) {
  const v = row[column];
  if (column.endsWith("_rate")) return pct(v);
  if (column === "avg_handling_h") return fmtHours(v);
  return esc(v ?? 0);
}

function renderTable(stats) {
  const table = $("stats-table");
  table.querySelector("tbody").innerHTML = (stats.rows || []).map((r) => `<tr data-key="${esc(r.key)}">
    <th scope="row">${esc(r.name || r.key)}</th>${COLUMNS.map((c) => `<td data-col="${c}">${cell(r, c)}</td>`).join("")}</tr>`).join("");
  const totals = stats.totals || {};
  table.querySelector("tfoot").innerHTML = `<tr class="totals"><th scope="row" data-i18n="totals">合计</th>
    ${COLUMNS.map((c) => `<td data-col="${c}">${cell(totals, c)}</td>`).join("")}</tr>`;
}

function query() {
  const p = new URLSearchParams({ from: $("from").value, to: $("to").value, by: $("by").value });
  if ($("district").value) p.set("district", $("district").value);
  if ($("district").value && $("street").value) p.set("street", $("street").value);
  return p;
}

function exportLinks(params) {
  for (const format of ["csv", "xlsx"]) {
    const p = new URLSearchParams(params);
    p.set("format", format);
    $(`export-${format}`).href = `/cases/stats?${p}`;
  }
}

// The area pickers list the districts (and a district's streets) that have cases in the period.
async function fillArea(select, params, by) {
  const p = new URLSearchParams(params);
  p.set("by", by);
  p.delete("street");
  if (by === "district") p.delete("district");
  const keep = select.value;
  const stats = await getJson(`/cases/stats?${p}`);
  select.length = 1;
  for (const r of stats.rows || []) select.add(new Option(r.name || r.key, r.key));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

async function fillAreas(params) {
  if ($("district").options.length <= 1 || !dash.districtsFilled) {
    await fillArea($("district"), params, "district");
    dash.districtsFilled = true;
  }
  $("street").disabled = !$("district").value;
  if ($("district").value && $("street").dataset.district !== $("district").value) {
    await fillArea($("street"), params, "street");
    $("street").dataset.district = $("district").value;
  }
}

async function load() {
  const params = query();
  history.replaceState(null, "", `?${params}`);
  exportLinks(params);
  const [stats, spots] = await Promise.all([
    getJson(`/cases/stats?${params}`),
    getJson(`/cases/hotspots?from=${params.get("from")}&to=${params.get("to")}`),
  ]);
  Object.assign(dash, { stats, hotspots: spots, query: params.toString() });
  renderTable(stats);
  drawCharts(stats);
  showHotspots(spots);
  dash.loads += 1;
  await fillAreas(params).catch(() => {});
}

function initialFilters() {
  const url = new URLSearchParams(window.location.search);
  const today = new Date();
  const yearAgo = new Date(today.getTime() - 365 * 86_400_000);
  $("from").value = url.get("from") || isoDay(yearAgo);
  $("to").value = url.get("to") || isoDay(today);
  if (url.get("by")) $("by").value = url.get("by");
  for (const name of ["district", "street"]) {
    if (url.get(name)) $(name).add(new Option(url.get(name), url.get(name), true, true));
  }
}

async function main() {
  setupLanguage(() => { if (dash.stats) { renderTable(dash.stats); drawCharts(dash.stats); } });
  initialFilters();
  await Promise.all([loadMe(), loadCodes().catch(() => null), setupHotspots()]);
  $("filters").onsubmit = (ev) => { ev.preventDefault(); load().catch(failed); };
  $("district").onchange = () => { $("street").value = ""; load().catch(failed); };
  await load();
  markReady(dash);
}

main().catch(failed);
