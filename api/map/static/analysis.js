// The 分析 / Analysis panel: pipe traces, 关阀分析, clearance, sections, profiles and excavation,
// run as OGC API Processes jobs. While the panel is open it owns map clicks (identify pauses):
// a click picks a pipe, a marked valve toggles "failed" and re-runs the isolation.
import { $, esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { offeredProcesses, runJob } from "/map/static/analysis_jobs.js";
import { clearHighlight, collect, download, highlight, restoreHighlight, toCsv } from "/map/static/analysis_layers.js";
import { startDrawing, stopDrawing } from "/map/static/analysis_draw.js";
import { showResult } from "/map/static/analysis_result.js";
import { hooks, state } from "/map/static/state.js";
import { asOfParam } from "/map/static/time.js";

const SEGMENTS = /^pipeline_(.+)_segments$/;
const POINTS = /^pipeline_(.+)_points$/;
const A = { offered: new Set(), active: false, selected: null, wells: [], failed: [], last: null, runs: 0, busy: false };
hooks.analysis = A;

function eligible() {
  const p = state.config && state.config.principal;
  return !!p && !p.anonymous && Object.keys(state.config.collections).some((id) => SEGMENTS.test(id));
}

const BUTTONS = [
  ["connected", "pipe-trace", "连通", "Connected"], ["upstream", "pipe-trace", "上游", "Upstream"],
  ["downstream", "pipe-trace", "下游", "Downstream"], ["isolation", "valve-isolation", "关阀分析", "Valve isolation"],
  ["clearance", "clearance-check", "净距检查", "Clearance check"],
];

function button(id, process, zh, en) {
  const off = A.offered.has(process) ? "" : " disabled";
  return `<button type="button" data-run="${esc(id)}" data-process="${esc(process)}"${off}>${esc(pick(zh, en))}</button>`;
}

/** Draw the panel for the current principal and language. */
export function renderAnalysis() {
  const tab = document.querySelector('.tab[data-tab="analysis"]');
  if (tab) tab.textContent = pick("分析", "Analysis");
  const pane = $("analysis");
  if (!pane) return;
  if (!eligible()) {
    pane.innerHTML = `<p class="muted">${esc(pick("登录且具有管线图层权限后可用。", "Sign in with access to the pipeline layers."))}</p>`;
    return;
  }
  const selected = A.selected ? `${esc(A.selected.label)} <small>(${esc(A.selected.category)})</small>`
    : esc(pick("点击地图上的管线", "Click a pipe on the map"));
  pane.innerHTML = `
    <div class="an-block"><h4>${esc(pick("选中管段", "Selected pipe"))}</h4>
      <p id="an-selected">${selected}</p>
      <div class="an-buttons">${BUTTONS.map((b) => button(...b)).join("")}</div>
      ${A.failed.length ? `<p class="muted">${esc(pick("失效阀门", "Failed valves"))}: ${esc(A.failed.join(", "))}</p>` : ""}</div>
    <div class="an-block"><h4>${esc(pick("断面", "Sections"))}</h4><div class="an-buttons">
      ${button("section", "cross-section", "画横断面线", "Draw a cross-section")}
      ${button("profile", "longitudinal-profile", "选两个井（纵断面）", "Pick two wells (profile)")}</div></div>
    <div class="an-block"><h4>${esc(pick("开挖分析", "Excavation"))}</h4>
      <label>${esc(pick("开挖深度 (m)", "Dig depth (m)"))} <input id="an-depth" type="number" value="2.5" min="0" step="0.1"></label>
      <div class="an-buttons">${button("excavation", "excavation-impact", "画开挖范围", "Draw the dig area")}</div></div>
    <div id="an-status" class="an-status" hidden><progress id="an-progress" max="100" value="0"></progress>
      <span id="an-message"></span></div>
    <div id="an-hint" class="muted"></div>
    <div id="an-result"></div>`;
  pane.querySelectorAll("[data-run]").forEach((b) => { b.onclick = () => command(b.dataset.run); });
  if (A.last) showResult(A.last, { onValve: toggleFailedValve, onDownload: downloadLast });
}

function hint(zh, en) {
  const el = $("an-hint");
  if (el) el.textContent = zh ? pick(zh, en) : "";
}

function withTime(inputs) {
  const when = asOfParam();
  return when ? { ...inputs, datetime: when } : inputs;
}

async function run(process, inputs) {
  if (A.busy) return;
  A.busy = true;
  document.body.dataset.analysis = "running";
  $("an-status").hidden = false;
  const progress = (percent, message) => { $("an-progress").value = percent; $("an-message").textContent = message; };
  try {
    const { jobID, results } = await runJob(process, inputs, progress);
    A.last = { process, inputs, jobID, results };
    highlight(results, [inputs.line, inputs.area].filter(Boolean));
    document.body.dataset.analysis = "done";
  } catch (err) {
    A.last = { process, inputs, error: String(err.message || err) };
    clearHighlight();
    document.body.dataset.analysis = "failed";
  } finally {
    A.busy = false;
    A.runs += 1;
    $("an-status").hidden = true;
    showResult(A.last, { onValve: toggleFailedValve, onDownload: downloadLast });
  }
}

function needPipe() {
  if (A.selected) return true;
  hint("先在地图上点击一条管线。", "Click a pipe on the map first.");
  return false;
}

function isolate() {
  const s = A.selected;
  return run("valve-isolation", withTime({ category: s.category, break: s.fid, failed_valves: A.failed }));
}

function command(name) {
  stopDrawing();
  A.wells = [];
  hint();
  const s = A.selected;
  if (["connected", "upstream", "downstream"].includes(name) && needPipe()) {
    run("pipe-trace", withTime({ category: s.category, start: s.fid, direction: name }));
  } else if (name === "isolation" && needPipe()) {
    isolate();
  } else if (name === "clearance" && needPipe()) {
    run("clearance-check", withTime({ segment: s.fid, category: s.category }));
  } else if (name === "section") {
    hint("在地图上点两点画线，再次点击终点结束。", "Click two points on the map; click the last one again to finish.");
    startDrawing("linestring", (line) => run("cross-section", withTime({ line })));
  } else if (name === "profile") {
    state.analysisMode = "wells";
    hint("在地图上依次点击两个检查井。", "Click two wells on the map.");
  } else if (name === "excavation") {
    hint("在地图上画开挖范围，点击起点闭合。", "Draw the dig area; click the first point to close it.");
    startDrawing("polygon", (area) => run("excavation-impact", withTime({ area, depth_m: Number($("an-depth").value) })));
  }
}

function toggleFailedValve(ref) {
  A.failed = A.failed.includes(ref) ? A.failed.filter((v) => v !== ref) : [...A.failed, ref];
  renderAnalysis();
  if (A.selected) isolate();
}

function downloadLast(kind) {
  if (!A.last || !A.last.results) return;
  const name = `${A.last.process}-${A.last.jobID.slice(0, 8)}`;
  if (kind === "csv") download(`${name}.csv`, toCsv(A.last.results), "text/csv;charset=utf-8");
  else download(`${name}.geojson`, JSON.stringify(collect(A.last.results)), "application/geo+json");
}

function hitOf(event, pattern) {
  return state.map.queryRenderedFeatures(event.point).find((f) => f.id !== undefined && f.layer.metadata
    && pattern.test(f.layer.metadata["onemap:collection"] || ""));
}

function onMapClick(event) {
  if (!A.active || !eligible() || state.analysisMode === "linestring" || state.analysisMode === "polygon") return;
  const marked = !state.map.getLayer("analysis-points") ? null
    : state.map.queryRenderedFeatures(event.point, { layers: ["analysis-points"] })
      .find((f) => ["valves", "failed_valves"].includes(f.properties._output));
  if (marked && A.last && A.last.process === "valve-isolation") {
    toggleFailedValve(marked.properties.point_no || marked.properties._id);
    return;
  }
  if (state.analysisMode === "wells") {
    const well = hitOf(event, POINTS);
    if (!well) return;
    A.wells.push({ fid: well.id, category: well.layer.metadata["onemap:collection"].match(POINTS)[1] });
    hint(`${A.wells.length} / 2`, `${A.wells.length} / 2`);
    if (A.wells.length === 2) {
      const [from, to] = A.wells;
      state.analysisMode = "pick";
      A.wells = [];
      run("longitudinal-profile", withTime({ category: from.category, from: from.fid, to: to.fid }));
    }
    return;
  }
  const pipe = hitOf(event, SEGMENTS);
  if (!pipe) return;
  const category = pipe.layer.metadata["onemap:collection"].match(SEGMENTS)[1];
  A.selected = { fid: pipe.id, category, label: pipe.properties.segment_no || `#${pipe.id}` };
  A.failed = [];
  renderAnalysis();
}

/** Open or close the panel: while open it owns map clicks (identify pauses). */
export function setAnalysisActive(active) {
  A.active = active;
  stopDrawing();
  state.analysisMode = active ? "pick" : null;
}

/** Wire the panel to the map; call once the map exists. */
export async function setupAnalysis() {
  A.offered = await offeredProcesses().catch(() => new Set());
  state.map.on("click", onMapClick);
  state.map.on("styledata", restoreHighlight);
  renderAnalysis();
}
