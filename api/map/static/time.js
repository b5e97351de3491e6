// The time slider: every tile source asks for the year chosen (as of its last second), or now.
import { $ } from "/map/static/dom.js";
import { yearText } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";

/** The ``datetime`` the map asks for, or null for now. */
export function asOfParam() {
  return state.year === null ? null : `${state.year}-12-31T23:59:59Z`;
}

function withDatetime(url) {
  const u = new URL(url, window.location.href);
  const value = asOfParam();
  if (value) u.searchParams.set("datetime", value); else u.searchParams.delete("datetime");
  return decodeURI(u.toString()).replace(/%7B/g, "{").replace(/%7D/g, "}");
}

/** Point every tile source at the chosen time. */
export function applyTime() {
  const map = state.map;
  for (const [id, source] of Object.entries(state.style.sources)) {
    const live = map.getSource(id);
    if (live && source.tiles) live.setTiles(source.tiles.map(withDatetime));
  }
  $("time-label").textContent = yearText();
  document.body.dataset.asOf = asOfParam() || "";
}

/** Fit the slider to the configuration's time range; moving it re-times the map after a pause. */
export function setupTime() {
  const slider = $("time-slider");
  const { min, max } = state.config.time;
  slider.min = String(min);
  slider.max = String(max);
  slider.value = String(state.year ?? max);
  let pending = null;
  slider.oninput = () => {
    const year = Number(slider.value);
    state.year = year >= max ? null : year;
    $("time-label").textContent = yearText();
    clearTimeout(pending);
    pending = setTimeout(applyTime, 150);
  };
}
