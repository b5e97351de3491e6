// Two DOM helpers every module uses.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** ``value`` escaped for HTML text and attribute values. */
export const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
