// The legend tab: the server's legend JSON, drawn for the collections switched on.
import { $, esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";

function swatch(entry, item) {
  if (entry.symbol === "line") return `<i class="sw line" style="border-color:${esc(item.color)}"></i>`;
  if (entry.symbol === "circle") return `<i class="sw dot" style="background:${esc(item.color)}"></i>`;
  if (entry.symbol === "outline") return `<i class="sw outline" style="border-color:${esc(item.color)}"></i>`;
  return `<i class="sw" style="background:${esc(item.color)}"></i>`;
}

function entryBody(entry) {
  let body;
  if (entry.gradient) {
    const stops = entry.gradient.map((s) => s.color).join(",");
    const first = entry.gradient[0].value;
    const last = entry.gradient[entry.gradient.length - 1].value;
    body = `<div class="ramp" style="background:linear-gradient(to right,${esc(stops)})"></div>
      <div class="ramp-labels"><span>${esc(first)}</span><span>${esc(last)} ${esc(entry.unit || "")}</span></div>`;
  } else {
    body = entry.items.map((item) => `<div class="item">${swatch(entry, item)}${esc(pick(item.label_zh, item.label_en))}</div>`).join("");
  }
  if (entry.dashed) body += `<div class="item"><i class="sw line dashed"></i>${esc(pick(entry.dashed.label_zh, entry.dashed.label_en))}</div>`;
  return body;
}

/** Redraw the legend tab from ``state.legend`` and ``state.visible``. */
export function renderLegend() {
  const parts = [];
  for (const entry of state.legend) {
    if (!state.visible[entry.collection]) continue;
    const badge = entry.sample ? `<span class="badge">${esc(pick(entry.badge_zh, entry.badge_en))}</span>` : "";
    parts.push(`<div class="legend-entry" data-collection="${esc(entry.collection)}"><h3>${esc(pick(entry.title_zh, entry.title_en))}${badge}</h3>${entryBody(entry)}</div>`);
  }
  $("legend").innerHTML = parts.join("");
}
