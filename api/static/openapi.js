// Lists the API's paths and operations from the OpenAPI document, in plain HTML.
const el = document.getElementById("paths");
const spec = await (await fetch(el.dataset.spec, { headers: { Accept: "application/json" } })).json();
const table = document.createElement("table");
for (const [path, ops] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const tr = table.insertRow();
    tr.insertCell().textContent = method.toUpperCase();
    tr.insertCell().innerHTML = `<code></code>`;
    tr.cells[1].firstChild.textContent = path;
    tr.insertCell().textContent = op.summary || "";
  }
}
el.appendChild(table);
