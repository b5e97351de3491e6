// The search box: grid codes, building names and addresses, stations (the server's /search).
import * as maplibregl from "/vendor/maplibre-gl/dist/maplibre-gl.mjs";
import { $, esc } from "/map/static/dom.js";
import { getJson } from "/map/static/http.js";
import { pick, t, title } from "/map/static/i18n.js";
import { map3dHref } from "/map/static/map3d_link.js";
import { state } from "/map/static/state.js";

function showResults(list, results) {
  list.innerHTML = results.length
    ? results.map((r, i) => `<li><button type="button" data-i="${i}"><b>${esc(r.label)}</b>
        <small>${esc(title(r))} · ${esc(r.value)}</small></button></li>`).join("")
    : `<li class="muted">${esc(t("noResults"))}</li>`;
  list.hidden = false;
  list.querySelectorAll("button").forEach((b) => {
    b.onclick = () => {
      const r = results[Number(b.dataset.i)];
      const [w, s, e, n] = r.bbox;
      state.map.fitBounds([[w, s], [e, n]], { maxZoom: 17, padding: 80, duration: 0 });
      const to3d = `<a class="to-3d" href="${esc(map3dHref(r.point[0], r.point[1]))}">${esc(pick("三维", "3D"))}</a>`;
      new maplibregl.Popup().setLngLat(r.point).setHTML(`<b>${esc(r.label)}</b><br>${esc(title(r))} · ${to3d}`).addTo(state.map);
      list.hidden = true;
    };
  });
}

/** Search as the planner types (after a pause); a hit flies the map there. */
export function setupSearch() {
  const input = $("search");
  const list = $("search-results");
  let pending = null;
  input.oninput = () => {
    clearTimeout(pending);
    const q = input.value.trim();
    if (!q) { list.hidden = true; return; }
    pending = setTimeout(async () => {
      const data = await getJson(`/search?q=${encodeURIComponent(q)}&limit=10`);
      showResults(list, data.results);
    }, 200);
  };
}
