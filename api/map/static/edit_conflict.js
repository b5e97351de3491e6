// The conflict view after a 412: the editor's version beside the current one, changed fields
// marked; keep mine (write again against the current ETag) or take theirs (load the current).
import { esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { et } from "/map/static/edit_text.js";

const show = (v) => (v === null || v === undefined || v === "" ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
const differs = (a, b) => JSON.stringify(a ?? null) !== JSON.stringify(b ?? null);

/**
 * Render the conflict into ``box``. ``mine`` and ``theirs`` are GeoJSON Features; ``fields`` the
 * form's [name, schema] list; ``onKeep`` / ``onTake`` are the two choices.
 */
export function renderConflict(box, { mine, theirs, fields, onKeep, onTake }) {
  const rows = fields.map(([name, s]) => {
    const a = mine.properties[name], b = theirs.properties[name];
    const changed = differs(a ?? null, b ?? null);
    return `<tr class="${changed ? "changed" : ""}" data-field="${esc(name)}"><th>${esc(pick(s.title, s["x-title-en"] || s.title))}</th>
      <td>${esc(show(a))}</td><td>${esc(show(b))}</td></tr>`;
  });
  const geomChanged = differs(mine.geometry, theirs.geometry);
  rows.push(`<tr class="${geomChanged ? "changed" : ""}" data-field="geometry"><th>${esc(et("geometry"))}</th>
    <td>${esc(mine.geometry ? mine.geometry.type : "—")}</td><td>${esc(theirs.geometry ? theirs.geometry.type : "—")}${geomChanged ? " ≠" : ""}</td></tr>`);
  box.innerHTML = `<h4 class="ed-warn">${esc(et("conflict"))}</h4>
    <table class="ed-diff"><thead><tr><th>${esc(et("field"))}</th><th>${esc(et("mine"))}</th><th>${esc(et("theirs"))}</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>
    <div class="an-buttons"><button type="button" data-act="keep">${esc(et("keepMine"))}</button>
    <button type="button" data-act="take">${esc(et("takeTheirs"))}</button></div>`;
  box.hidden = false;
  box.querySelector('[data-act="keep"]').onclick = () => { box.hidden = true; onKeep(); };
  box.querySelector('[data-act="take"]').onclick = () => { box.hidden = true; onTake(); };
}
