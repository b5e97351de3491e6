// The dashboard's charts, drawn by ECharts from npm (served by /vendor, never a CDN).
import * as echarts from "/vendor/echarts/dist/echarts.esm.min.mjs";
import { hooks } from "/cases-static/common.js";
import { t } from "/cases-static/i18n.js";

const charts = {};
hooks.charts = charts;
hooks.echarts = echarts;
const TOP = 20;

function chart(id) {
  if (!charts[id]) {
    charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    window.addEventListener("resize", () => charts[id].resize());
  }
  return charts[id];
}

const rate = (v) => (v === null || v === undefined ? null : Number((Number(v) * 100).toFixed(1)));
const label = (r) => r.name || r.key;

/** Counts per row (上报, 立案, 结案): the busiest ``TOP`` rows. */
function drawCounts(rows) {
  const top = [...rows].sort((a, b) => b.reported - a.reported).slice(0, TOP);
  chart("chart-counts").setOption({
    title: { text: `${t("reported")} / ${t("accepted")} / ${t("closed")}`, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" }, legend: { bottom: 0 }, grid: { top: 40, left: 50, right: 10, bottom: 90 },
    xAxis: { type: "category", data: top.map(label), axisLabel: { rotate: 40, interval: 0 } },
    yAxis: { type: "value" },
    series: [
      { name: t("reported"), type: "bar", data: top.map((r) => r.reported) },
      { name: t("accepted"), type: "bar", data: top.map((r) => r.accepted) },
      { name: t("closed"), type: "bar", data: top.map((r) => r.closed) },
    ],
  }, true);
}

/** The three rates (按期处置率, 按期结案率, 返工率) per row, in percent. */
function drawRates(rows) {
  const top = [...rows].sort((a, b) => b.reported - a.reported).slice(0, TOP);
  chart("chart-rates").setOption({
    title: { text: `${t("onTimeDisposalRate")} / ${t("onTimeCloseRate")} / ${t("reworkRate")} (%)`, textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" }, legend: { bottom: 0 }, grid: { top: 40, left: 50, right: 10, bottom: 90 },
    xAxis: { type: "category", data: top.map(label), axisLabel: { rotate: 40, interval: 0 } },
    yAxis: { type: "value", min: 0, max: 100 },
    series: [
      { name: t("onTimeDisposalRate"), type: "line", data: top.map((r) => rate(r.on_time_disposal_rate)) },
      { name: t("onTimeCloseRate"), type: "line", data: top.map((r) => rate(r.on_time_close_rate)) },
      { name: t("reworkRate"), type: "bar", data: top.map((r) => rate(r.rework_rate)) },
    ],
  }, true);
}

/** The most frequent classes, as horizontal bars. */
function drawClasses(topClasses) {
  const items = [...topClasses].slice(0, 15).reverse();
  chart("chart-classes").setOption({
    title: { text: t("topClasses"), textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" }, grid: { top: 40, left: 140, right: 20, bottom: 30 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: items.map((c) => c.name || c.small_class), axisLabel: { width: 130, overflow: "truncate" } },
    series: [{ name: t("count"), type: "bar", data: items.map((c) => c.count), itemStyle: { color: "#d2691e" } }],
  }, true);
}

/** Draw every chart from one /cases/stats answer. */
export function drawCharts(stats) {
  drawCounts(stats.rows || []);
  drawRates(stats.rows || []);
  drawClasses(stats.top_classes || []);
}
