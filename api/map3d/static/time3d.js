// The time slider: the scene as of the end of the chosen year (every tileset reloads with ?datetime=).
import { $ } from "/map/static/dom.js";
import { yearText } from "/map3d/static/i18n3d.js";
import { view } from "/map3d/static/state3d.js";

/** Fit the slider to the configuration's time range; moving it calls ``apply`` after a pause. */
export function setupTime(apply) {
  const slider = $("time-slider");
  const { min, max } = view.config.time;
  slider.min = String(min);
  slider.max = String(max);
  slider.value = String(view.year ?? max);
  let pending = null;
  slider.oninput = () => {
    const year = Number(slider.value);
    view.year = year >= max ? null : year;
    $("time-label").textContent = yearText();
    clearTimeout(pending);
    pending = setTimeout(apply, 300);
  };
}
