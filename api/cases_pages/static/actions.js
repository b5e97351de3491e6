// One-click workflow actions: POST /cases/{id}/actions/{action}, asking first for what the action
// needs (reason, department and deadline, photos, approval). A 409 or 403 is shown as the server
// words it, so an operator sees which state allows what.
import { $, HttpError, api, esc, hooks, notify, problemText, propsOf } from "/cases-static/common.js";
import { actionLabel, actionNeeds, codes, defaultDeadlineHours } from "/cases-static/codes.js";
import { t } from "/cases-static/i18n.js";

function field(name, p) {
  switch (name) {
    case "reason":
      return `<label>${t("reason")} <textarea name="reason" rows="2" maxlength="1000"></textarea></label>`;
    case "department": {
      const options = (codes.departments || []).map((d) => `<option value="${esc(d.code)}"${d.code === p.department ? " selected" : ""}>${esc(d.name)} (${esc(d.code)})</option>`);
      return `<label>${t("department")} <select name="department" required>${options.join("")}</select></label>`;
    }
    case "deadline_hours":
      return `<label>${t("deadlineHours")} <input name="deadline_hours" type="number" min="0.5" step="0.5"
        value="${defaultDeadlineHours(p.kind, p.small_class)}"></label>`;
    case "photos":
      return `<label>${t("attachPhotos")} <input name="photos" type="file" accept="image/*" capture="environment" multiple required></label>`;
    case "approve":
      return `<label class="check"><input name="approve" type="checkbox" checked> ${t("approve")}</label>`;
    default:
      return "";
  }
}

/** Ask for the action's fields in the dialog; resolves the FormData, or null when cancelled. */
function ask(code, p) {
  const needs = actionNeeds(code, p.state).ask;
  if (!needs.length) return Promise.resolve(new FormData());
  const dialog = $("action-dialog");
  $("action-title").textContent = `${actionLabel(code)} · ${p.case_no}`;
  $("action-fields").innerHTML = needs.map((n) => field(n, p)).join("");
  $("action-dialog-error").hidden = true;
  return new Promise((resolve) => {
    $("action-form").onsubmit = (ev) => { ev.preventDefault(); dialog.close(); resolve(new FormData(ev.target)); };
    $("action-cancel").onclick = () => { dialog.close(); resolve(null); };
    dialog.showModal();
  });
}

async function upload(id, files) {
  const ids = [];
  for (const file of files) {
    const form = new FormData();
    form.append("photo", file, file.name);
    const response = await api(`/cases/${encodeURIComponent(id)}/attachments`, { method: "POST", body: form });
    if (!response.ok) throw new HttpError(response.status, await problemText(response));
    ids.push((await response.json()).id);
  }
  return ids;
}

async function body(code, p, form) {
  const out = {};
  const need = actionNeeds(code, p.state);
  if (need.verdict) out.verdict = need.verdict;
  if (form.get("reason")) out.reason = String(form.get("reason")).trim();
  if (form.get("department")) out.department = String(form.get("department"));
  if (form.get("deadline_hours")) out.deadline_hours = Number(form.get("deadline_hours"));
  if (need.ask.includes("approve")) out.approve = form.get("approve") === "on";
  const files = form.getAll("photos").filter((f) => f && f.size);
  if (files.length) out.attachments = await upload(p.id, files);
  return out;
}

function showError(status, message) {
  const box = $("action-error");
  const what = { 409: "409 状态冲突 Conflict", 403: "403 无权操作 Forbidden", 404: "404 不可见 Not found",
    412: "412 案卷已被他人修改 Changed meanwhile" }[status] || `HTTP ${status}`;
  box.textContent = `${what} — ${message}`;
  box.hidden = false;
}

/** Run ``code`` on the open case of ``detail``, then ``after()`` on success. */
export async function runAction(code, detail, { after }) {
  const p = detail.props;
  $("action-error").hidden = true;
  const form = await ask(code, p);
  if (form === null) return;
  try {
    const payload = await body(code, p, form);
    const headers = { "Content-Type": "application/json" };
    if (detail.etag) headers["If-Match"] = detail.etag;
    const response = await api(`/cases/${encodeURIComponent(p.id)}/actions/${code}`, {
      method: "POST", headers, body: JSON.stringify(payload),
    });
    if (!response.ok) throw new HttpError(response.status, await problemText(response));
    const answer = await response.json();
    hooks.lastAction = { code, status: response.status, body: answer };
    notify(`${actionLabel(code)} ✓ ${propsOf(answer.case || {}).case_no || p.case_no}`, "ok");
    await after(answer);
  } catch (err) {
    hooks.lastAction = { code, status: err.status || 0, error: err.message };
    showError(err.status || 0, err.message);
  }
}
