// The statistics panel's answer drawn: totals, three ECharts bar charts (by use, age band, height
// class) and a table of every class, for one date or two (with growth). ECharts comes from npm,
// served under /vendor (offline).
import * as echarts from "/vendor/echarts/dist/echarts.esm.min.mjs";
import { esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { hooks } from "/map/static/state.js";

const charts = {};
hooks.statisticsCharts = charts;
const BREAKDOWNS = [["by_use", "按用途", "By use"], ["by_age", "按建成年代", "By age band"],
  ["by_height", "按高度分类", "By height class"], ["by_floor_rule", "层数规则", "Floor rule"]];
const num = (v, digits = 0) => Number(v).toLocaleString(pick("zh-CN", "en"), { maximumFractionDigits: digits });
const when = (s) => (s.datetime === "now" ? pick("现在", "now") : s.datetime.slice(0, 10));

function chart(el, name, snapshots) {
  charts[name]?.dispose();
  const c = echarts.init(el, null, { renderer: "canvas" });
  charts[name] = c;
  const classes = snapshots[0][name].filter((k, i) => snapshots.some((s) => s[name][i].buildings));
  c.setOption({
    animation: false, tooltip: { trigger: "axis" }, legend: { bottom: 0, textStyle: { fontSize: 10 } },
    grid: { top: 10, left: 44, right: 6, bottom: 70 },
    xAxis: { type: "category", data: classes.map((k) => pick(k.label_zh, k.label_en)),
      axisLabel: { rotate: 35, interval: 0, fontSize: 9, width: 70, overflow: "truncate" } },
    yAxis: { type: "value", axisLabel: { fontSize: 9 } },
    series: snapshots.map((s) => ({ name: `${pick("栋数", "Buildings")} ${when(s)}`, type: "bar",
      data: classes.map((k) => s[name].find((x) => x.key === k.key).buildings) })),
  });
}

function table(stats) {
  const snaps = stats.snapshots;
  const head = snaps.map((s) => `<th>${esc(when(s))}<br>${esc(pick("栋 / 建筑面积 m²", "n / floor m²"))}</th>`).join("")
    + (stats.growth ? `<th>${esc(pick("增长", "Growth"))}</th>` : "");
  const cell = (m) => `${num(m.buildings)} / ${num(m.floor_area_m2)}`;
  const rows = [[pick("合计", "Total"), snaps.map((s) => s.totals), stats.growth && stats.growth.totals]];
  for (const [name, zh, en] of BREAKDOWNS) {
    snaps[0][name].forEach((k, i) => {
      if (snaps.some((s) => s[name][i].buildings)) {
        rows.push([`${pick(zh, en)}：${pick(k.label_zh, k.label_en)}`, snaps.map((s) => s[name][i]),
          stats.growth && stats.growth[name].find((g) => g.key === k.key)]);
      }
    });
  }
  return `<table class="an-summary st-table"><tr><th></th>${head}</tr>${rows.map(([label, ms, g]) =>
    `<tr><th>${esc(label)}</th>${ms.map((m) => `<td>${cell(m)}</td>`).join("")}${g ? `<td>${cell(g)}</td>` : ""}</tr>`).join("")}</table>`;
}

/** Draw ``stats`` (the process's ``statistics`` output) into ``el``. */
export function drawStatistics(el, stats) {
  const t = stats.snapshots[stats.snapshots.length - 1].totals;
  const a = stats.area;
  el.innerHTML = `
    <p class="st-totals">${esc(a.name || a.code || pick("手绘范围", "drawn area"))}（${num(a.area_m2 / 1e6, 2)} km²）：
      <b>${num(t.buildings)}</b> ${esc(pick("栋", "buildings"))}，${esc(pick("基底面积", "footprint"))}
      ${num(t.footprint_m2)} m²，${esc(pick("建筑面积", "floor area"))} ${num(t.floor_area_m2)} m²</p>
    ${BREAKDOWNS.slice(0, 3).map(([name, zh, en]) => `<h4>${esc(pick(zh, en))}</h4>
      <div class="st-chart" data-chart="${name}"></div>`).join("")}
    ${table(stats)}
    <details class="an-list"><summary>${esc(pick("统计规则", "Rules"))}</summary>
      <p class="muted">${esc(pick(stats.rules.zh, stats.rules.en))}</p></details>`;
  el.querySelectorAll(".st-chart").forEach((c) => chart(c, c.dataset.chart, stats.snapshots));
}
