// The attribute form, generated from a layer's feature schema (/collections/{id}/schema, Part 5):
// types and units, code lists as drop-downs with Chinese labels, required fields and ranges
// checked as the editor types, and the server's 422 field errors put on the fields.
import { esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { et } from "/map/static/edit_text.js";

const SKIP = new Set(["id", "geometry", "valid_from", "valid_to", "version"]);

const baseType = (s) => (Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type) || "string";

/** The editable fields of a schema, in property order: [name, schema, required]. */
export function editableFields(schema) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties)
    .filter(([name, s]) => !SKIP.has(name) && !s.readOnly)
    .map(([name, s]) => [name, s, required.has(name)]);
}

function codeLabel(s, code) {
  const zh = s["x-labels"]?.[code];
  const en = s["x-labels-en"]?.[code];
  const label = pick(zh, en || zh);
  return label ? `${code} ${label}` : String(code);
}

function input(name, s, value) {
  const type = baseType(s);
  if (s.enum) {
    const options = s.enum.filter((c) => c !== null)
      .map((c) => `<option value="${esc(c)}" ${String(c) === String(value ?? "") ? "selected" : ""}>${esc(codeLabel(s, c))}</option>`);
    return `<select name="${esc(name)}"><option value=""></option>${options.join("")}</select>`;
  }
  if (type === "boolean") return `<input name="${esc(name)}" type="checkbox" ${value ? "checked" : ""}>`;
  const attrs = [];
  if (type === "number" || type === "integer") {
    attrs.push('type="number"', `step="${type === "integer" ? 1 : "any"}"`, 'inputmode="decimal"');
    if (s.minimum !== undefined) attrs.push(`min="${s.minimum}"`);
    if (s.maximum !== undefined) attrs.push(`max="${s.maximum}"`);
  } else {
    attrs.push(s.format === "date" ? 'type="date"' : 'type="text"');
  }
  return `<input name="${esc(name)}" ${attrs.join(" ")} value="${esc(value ?? "")}">`;
}

/** Render the form for ``schema`` with ``props`` into ``box``; returns its controller. */
export function renderForm(box, schema, props) {
  const fields = editableFields(schema);
  box.innerHTML = fields.map(([name, s, req]) => {
    const unit = s["x-unit"] ? `<span class="ed-unit">${esc(s["x-unit"])}</span>` : "";
    const star = req ? `<abbr class="ed-req" title="${esc(et("required"))}">*</abbr>` : "";
    return `<label class="ed-field" data-field="${esc(name)}"><span>${esc(pick(s.title, s["x-title-en"] || s.title))}${star}</span>
      <span class="ed-input">${input(name, s, props[name])}${unit}</span><small class="ed-error" hidden></small></label>`;
  }).join("");
  const form = { box, schema, fields, onchange: () => {} };
  box.querySelectorAll("input, select").forEach((el) => {
    el.addEventListener("input", () => { checkField(form, el.name); form.onchange(); });
    el.addEventListener("change", () => { checkField(form, el.name); form.onchange(); });
  });
  return form;
}

function rawValue(form, name) {
  const el = form.box.querySelector(`[name="${CSS.escape(name)}"]`);
  return el.type === "checkbox" ? el.checked : el.value.trim();
}

/** The typed value of one field (null when empty). */
export function fieldValue(form, name) {
  const [, s] = form.fields.find(([n]) => n === name);
  const raw = rawValue(form, name);
  if (raw === "" || raw === null) return null;
  const type = baseType(s);
  if (type === "number" || type === "integer") return Number(raw);
  if (type === "boolean") return Boolean(raw);
  return raw;
}

/** Every field's value, as the properties of a feature. */
export function formValues(form) {
  return Object.fromEntries(form.fields.map(([name]) => [name, fieldValue(form, name)]));
}

function problem(s, required, value, raw) {
  if (value === null) return required ? et("required") : null;
  const type = baseType(s);
  if (type === "number" || type === "integer") {
    if (Number.isNaN(value) || raw === "") return et("notNumber");
    if (type === "integer" && !Number.isInteger(value)) return et("notInteger");
    if (s.minimum !== undefined && value < s.minimum) return `${et("tooSmall")} ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `${et("tooLarge")} ${s.maximum}`;
  }
  if (typeof value === "string") {
    if (s.maxLength !== undefined && value.length > s.maxLength) return `${et("tooLong")} (≤ ${s.maxLength})`;
    if (s.pattern && !new RegExp(s.pattern, "u").test(value)) return `${et("badPattern")} (${s.pattern})`;
  }
  return null;
}

/** Show (or clear) an error on a field; ``message`` null clears it. */
export function setFieldError(form, name, message) {
  const label = form.box.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!label) return false;
  const small = label.querySelector(".ed-error");
  small.textContent = message || "";
  small.hidden = !message;
  label.classList.toggle("invalid", Boolean(message));
  return true;
}

/** Check one field as typed; true when it is valid. */
export function checkField(form, name) {
  const [, s, req] = form.fields.find(([n]) => n === name);
  const el = form.box.querySelector(`[name="${CSS.escape(name)}"]`);
  // A number input holding text reports "" with badInput set: that is not "empty".
  const bad = el.validity && el.validity.badInput;
  const message = bad ? et("notNumber") : problem(s, req, fieldValue(form, name), rawValue(form, name));
  setFieldError(form, name, message);
  return !message;
}

/** Check every field; true when all are valid. */
export function checkAll(form) {
  return form.fields.map(([name]) => checkField(form, name)).every(Boolean);
}

/** Put a 422's ``errors`` on their fields; the ones that name no field are returned. */
export function showServerErrors(form, errors) {
  return (errors || []).filter((e) => e.field === "geometry" || !setFieldError(form, e.field, e.message));
}
