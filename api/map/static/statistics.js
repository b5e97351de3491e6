// The 统计 / Statistics panel: building statistics (建筑统计) of a district, street, community,
// unit grid cell or drawn polygon, as of one date or two (growth), from the OGC API process
// ``building-statistics``: charts (ECharts), a table, and CSV / XLSX downloads of the same answer.
// While the panel is open a click on a unit grid cell fills the street / community / grid code.
import { $, esc } from "/map/static/dom.js";
import { api } from "/map/static/http.js";
import { pick } from "/map/static/i18n.js";
import { startDrawing, stopDrawing } from "/map/static/analysis_draw.js";
import { drawStatistics } from "/map/static/statistics_charts.js";
import { hooks, state } from "/map/static/state.js";

const PROCESS = "/processes/building-statistics/execution";
// GB/T 2260 codes of Changsha and its districts/counties (the process looks them up in admin_districts).
const DISTRICTS = [
  ["430100", "长沙市（全市）", "Changsha (whole city)"], ["430102", "芙蓉区", "Furong"], ["430103", "天心区", "Tianxin"],
  ["430104", "岳麓区", "Yuelu"], ["430105", "开福区", "Kaifu"], ["430111", "雨花区", "Yuhua"],
  ["430112", "望城区", "Wangcheng"], ["430121", "长沙县", "Changsha County"], ["430181", "浏阳市", "Liuyang"],
  ["430182", "宁乡市", "Ningxiang"],
];
const KINDS = [
  ["district", "区县", "District"], ["street", "街道", "Street"], ["community", "社区", "Community"],
  ["grid", "单元网格", "Grid cell"], ["polygon", "手绘范围", "Drawn polygon"],
];
const CODE_DIGITS = { street: 9, community: 12, grid: 14 };
const S = { active: false, kind: "district", code: "430104", polygon: null, from: "", to: "", last: null,
  runs: 0, busy: false, error: null };
hooks.statistics = S;

function codeInput() {
  if (S.kind === "district") {
    return `<select id="st-code">${DISTRICTS.map(([code, zh, en]) => `<option value="${code}"${code === S.code
      ? " selected" : ""}>${esc(pick(zh, en))} ${code}</option>`).join("")}</select>`;
  }
  if (S.kind === "polygon") {
    const drawn = S.polygon ? pick("已画范围", "Area drawn") : pick("未画", "Not drawn yet");
    return `<button type="button" id="st-draw">${esc(pick("在地图上画范围", "Draw on the map"))}</button>
      <small id="st-drawn">${esc(drawn)}</small>`;
  }
  const digits = CODE_DIGITS[S.kind];
  return `<input id="st-code" inputmode="numeric" pattern="\\d{${digits}}" value="${esc(S.code)}"
    placeholder="${esc(pick(`${digits} 位编码，或点击地图上的网格`, `${digits}-digit code, or click a grid cell`))}">`;
}

/** Draw the panel in the page's language (the last answer is kept and redrawn). */
export function renderStatistics() {
  const tab = document.querySelector('.tab[data-tab="stats"]');
  if (tab) tab.textContent = pick("统计", "Statistics");
  const pane = $("stats");
  if (!pane) return;
  pane.innerHTML = `
    <div class="an-block"><h4>${esc(pick("建筑统计", "Building statistics"))}</h4>
      <label>${esc(pick("范围", "Area"))} <select id="st-kind">${KINDS.map(([k, zh, en]) =>
        `<option value="${k}"${k === S.kind ? " selected" : ""}>${esc(pick(zh, en))}</option>`).join("")}</select></label>
      <label>${esc(pick("编码", "Code"))} ${codeInput()}</label>
      <label>${esc(pick("时点", "As of"))} <input id="st-from" type="date" value="${esc(S.from)}"></label>
      <label>${esc(pick("对比时点（增长）", "Compare with (growth)"))} <input id="st-to" type="date" value="${esc(S.to)}"></label>
      <small class="muted">${esc(pick("时点留空为现在；填两个时点给出增长。", "Leave empty for now; give two dates for growth."))}</small>
      <div class="an-buttons"><button type="button" id="st-run">${esc(pick("统计", "Run"))}</button>
        <button type="button" data-download="csv" ${S.last ? "" : "disabled"}>CSV</button>
        <button type="button" data-download="xlsx" ${S.last ? "" : "disabled"}>XLSX</button></div></div>
    <div id="st-result"></div>`;
  $("st-kind").onchange = (e) => { S.kind = e.target.value; S.code = S.kind === "district" ? "430104" : ""; renderStatistics(); };
  const code = $("st-code");
  if (code) code.onchange = (e) => { S.code = e.target.value.trim(); };
  $("st-from").onchange = (e) => { S.from = e.target.value; };
  $("st-to").onchange = (e) => { S.to = e.target.value; };
  if ($("st-draw")) $("st-draw").onclick = drawArea;
  $("st-run").onclick = () => run();
  pane.querySelectorAll("[data-download]").forEach((b) => { b.onclick = () => downloadAs(b.dataset.download); });
  if (S.error) $("st-result").innerHTML = `<p class="error">${esc(S.error)}</p>`;
  else if (S.last) drawStatistics($("st-result"), S.last.statistics);
}

function drawArea() {
  startDrawing("polygon", (polygon) => {
    S.polygon = polygon;
    state.analysisMode = "statistics";
    renderStatistics();
    run();
  });
}

function area() {
  if (S.kind === "polygon") return S.polygon;
  const input = $("st-code");
  S.code = input ? input.value.trim() : S.code;
  return { [S.kind]: S.code };
}

function instants() {
  const dates = [S.from, S.to].filter(Boolean).map((d) => `${d}T23:59:59+08:00`);
  return dates.length ? { datetime: dates.length === 1 ? dates[0] : dates } : {};
}

async function execute(inputs, output) {
  const response = await api(PROCESS, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ inputs, outputs: { [output]: {} } }),
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.detail || `HTTP ${response.status}`);
  }
  return response;
}

/** Run the statistics for the chosen area and dates; the answer is drawn and kept for downloads. */
export async function run() {
  if (S.busy) return;
  const where = area();
  if (!where) { S.error = pick("先在地图上画范围。", "Draw the area on the map first."); renderStatistics(); return; }
  S.busy = true;
  document.body.dataset.statistics = "running";
  const inputs = { area: where, ...instants() };
  try {
    const statistics = await (await execute(inputs, "statistics")).json();
    S.last = { inputs, statistics };
    S.error = null;
    document.body.dataset.statistics = "done";
  } catch (err) {
    S.last = null;
    S.error = String(err.message || err);
    document.body.dataset.statistics = "failed";
  } finally {
    S.busy = false;
    S.runs += 1;
    renderStatistics();
  }
}

/** Download the last answer as CSV or XLSX (the server makes both from the same statistics). */
async function downloadAs(kind) {
  if (!S.last) return;
  const blob = await (await execute(S.last.inputs, kind)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  const a0 = S.last.statistics.area;
  a.href = url;
  a.download = `建筑统计-${a0.code || a0.kind}.${kind}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function onMapClick(event) {
  if (!S.active || !(S.kind in CODE_DIGITS) || state.analysisMode !== "statistics") return;
  const cell = state.map.queryRenderedFeatures(event.point).find((f) => f.layer.metadata
    && f.layer.metadata["onemap:collection"] === "grid_cells" && f.properties.grid_code);
  if (!cell) return;
  S.code = String(cell.properties.grid_code).slice(0, S.kind === "grid" ? undefined : CODE_DIGITS[S.kind]);
  renderStatistics();
}

function setActive(active) {
  S.active = active;
  if (active) state.analysisMode = "statistics";  // identify pauses: clicks pick grid cells
  else if (state.analysisMode === "statistics") { stopDrawing(); state.analysisMode = null; }
}

/** Wire the panel to the map and the tabs; call once the map exists. */
export function setupStatistics() {
  state.map.on("click", onMapClick);
  // After main.js's own tab handler (which may clear analysisMode), so the panel keeps the clicks.
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => setActive(tab.dataset.tab === "stats")));
  renderStatistics();
}
