// The queue pages: 受理/派遣 console (/cases/console), 处置部门 tasks (/cases/tasks) and the 核查 list
// (/cases/verify). One module: each page is a set of states; the list updates live from the feed.
import { $, esc, failed, fmtHours, getJson, hasRole, hooks, loadMe, markReady, propsOf } from "/cases-static/common.js";
import { className, codes, loadCodes, stateLabel } from "/cases-static/codes.js";
import { openDetail, refreshDetail } from "/cases-static/detail.js";
import { setupLanguage, t } from "/cases-static/i18n.js";
import { listen } from "/cases-static/live.js";

const OPEN = ["reported", "accepted", "returned", "dispatched", "extended", "completed", "verifying", "hung"];
const PAGES = {
  console: { states: OPEN, initial: "reported" },
  tasks: { states: ["dispatched", "extended"], initial: "all" },
  verify: { states: ["completed", "verifying"], initial: "all" },
};
const page = PAGES[document.body.dataset.page] || PAGES.console;
const queue = { items: [], counts: {}, filter: page.initial, department: "", selected: null, loads: 0 };
const TICK_MS = 60_000;  // timers (time used, time left, overdue) move on: refetch the queue each minute
hooks.queue = queue;

function queuePath(states, limit) {
  const p = new URLSearchParams({ state: states, limit: String(limit) });
  if (queue.department) p.set("department", queue.department);
  return `/cases/queue?${p}`;
}

function setupDepartments(me) {
  const select = $("department-filter");
  // A handler's list is its department's already (the server filters it): nothing to choose.
  select.parentElement.hidden = Boolean(me.department) && !hasRole(me, "supervisor", "dispatcher", "operator");
  for (const d of codes.departments || []) select.add(new Option(d.short || d.name, d.code));
  select.onchange = () => { queue.department = select.value; load().catch(failed); };
}

function renderChips() {
  const total = page.states.reduce((n, s) => n + (queue.counts[s] || 0), 0);
  const chip = (code, label, n) => `<button type="button" role="tab" data-state="${code}"
    aria-selected="${queue.filter === code}">${esc(label)} <b>${n}</b></button>`;
  $("state-filter").innerHTML = chip("all", t("all"), total)
    + page.states.map((s) => chip(s, stateLabel(s), queue.counts[s] || 0)).join("");
  $("state-filter").querySelectorAll("button").forEach((b) => {
    b.onclick = () => { queue.filter = b.dataset.state; load(); };
  });
}

function row(item) {
  const p = propsOf(item);
  const left = p.time_left_h ?? (p.timers && p.timers.time_left_h);
  const used = p.time_used_h ?? (p.timers && p.timers.time_used_h);
  const overdue = p.overdue ?? (p.timers && p.timers.overdue);
  return `<tr data-id="${esc(p.id)}" class="${overdue ? "overdue" : ""} ${String(p.id) === String(queue.selected) ? "selected" : ""}"
    tabindex="0"><td>${esc(p.case_no)}${p.fresh ? ` <span class="badge new">${t("newCase")}</span>` : ""}</td>
    <td><span class="state s-${esc(p.state)}">${esc(stateLabel(p.state))}</span></td>
    <td>${esc(className(p.kind, p.big_class, p.small_class))}</td><td class="mono">${esc(p.grid_code)}</td>
    <td>${fmtHours(used)}</td>
    <td>${overdue ? `<span class="badge overdue">${t("overdue")}</span> ` : ""}${fmtHours(left)}</td></tr>`;
}

function renderTable() {
  const body = $("queue-table").querySelector("tbody");
  body.innerHTML = queue.items.length ? queue.items.map(row).join("")
    : `<tr><td colspan="6" class="muted">${t("empty")}</td></tr>`;
  body.querySelectorAll("tr[data-id]").forEach((tr) => {
    const open = () => select(tr.dataset.id);
    tr.onclick = open;
    tr.onkeydown = (e) => { if (e.key === "Enter") open(); };
  });
}

function select(id) {
  queue.selected = id;
  document.body.classList.add("show-detail");
  renderTable();
  openDetail(id, { onChanged: load });
}

/** Fetch the queue for the chosen state(s) and redraw the list. */
export async function load() {
  const fresh = new Set(queue.items.filter((i) => propsOf(i).fresh).map((i) => String(propsOf(i).id)));
  const all = page.states.join(",");
  // The API counts only the states asked for: one small request for every chip's count.
  const [data, counted] = await Promise.all([
    getJson(queuePath(queue.filter === "all" ? all : queue.filter, 200)),
    queue.filter === "all" ? null : getJson(queuePath(all, 1)),
  ]);
  queue.items = (data.cases || []).map((c) => {
    const p = propsOf(c);
    return fresh.has(String(p.id)) ? { ...p, fresh: true } : p;
  });
  queue.counts = (counted || data).counts || {};
  queue.loads += 1;
  renderChips();
  renderTable();
}

let pending = null;
function onCase(event) {
  // Show it at once (marked new), then let the server's queue (timers, filters) replace it shortly.
  const shown = page.states.includes(event.state) && (queue.filter === "all" || queue.filter === event.state);
  const known = queue.items.find((i) => String(i.id) === String(event.id));
  if (known) Object.assign(known, { state: event.state, fresh: true });
  else if (shown) queue.items.unshift({ ...event, fresh: true });
  renderTable();
  clearTimeout(pending);
  pending = setTimeout(() => load().catch(failed), 300);
  if (String(event.id) === String(queue.selected)) refreshDetail();
}

async function main() {
  setupLanguage(() => { renderChips(); renderTable(); refreshDetail(); });
  const [me] = await Promise.all([loadMe(), loadCodes()]);
  hooks.page = document.body.dataset.page;
  $("refresh").onclick = () => load().catch(failed);
  $("back").onclick = () => document.body.classList.remove("show-detail");
  setupDepartments(me);
  await load();
  setInterval(() => { if (!document.hidden) load().catch(failed); }, TICK_MS);
  listen(onCase);
  markReady(me);
}

main().catch(failed);
