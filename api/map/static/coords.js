// The cursor's position in CGCS2000 degrees and Gauss-Krüger metres (the zone the server names).
import { $ } from "/map/static/dom.js";
import { gaussKruger } from "/map/static/gk.js";
import { state } from "/map/static/state.js";

/** Show the cursor's coordinates as it moves over the map. */
export function setupCoords() {
  const zone = state.config.gkZone;
  state.map.on("mousemove", (e) => {
    const { lng, lat } = e.lngLat;
    const gk = gaussKruger(lng, lat, zone);
    $("coords").textContent = `CGCS2000 ${lng.toFixed(6)}°E ${lat.toFixed(6)}°N · `
      + `GK ${zone} (EPSG:${state.config.gkEpsg}) X ${gk.northing.toFixed(2)} m  Y ${gk.easting.toFixed(2)} m`;
  });
}
