// Links to the 数字城管 pages, shown only to callers holding a role those pages serve.
import { $, esc } from "/map/static/dom.js";
import { pick } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";

const PAGES = [
  { path: "/cases/report", zh: "问题上报", en: "Report", roles: ["inspector", "operator", "supervisor", "dispatcher", "handler", "leader", "editor"] },
  { path: "/cases/console", zh: "受理派遣", en: "Console", roles: ["operator", "supervisor", "dispatcher", "leader"] },
  { path: "/cases/tasks", zh: "处置任务", en: "Tasks", roles: ["handler", "supervisor"] },
  { path: "/cases/verify", zh: "核查任务", en: "Verify", roles: ["inspector", "supervisor"] },
  { path: "/cases/dashboard", zh: "综合评价", en: "Dashboard", roles: ["inspector", "operator", "supervisor", "dispatcher", "handler", "leader"] },
];

/** Show the case pages the signed-in caller may open (none for visitors and plain planners). */
export function renderCasesMenu() {
  const roles = new Set(state.config.principal.roles || []);
  const open = PAGES.filter((p) => roles.has("admin") || p.roles.some((r) => roles.has(r)));
  const nav = $("cases-menu");
  nav.hidden = !open.length;
  nav.innerHTML = open.map((p) => `<a href="${p.path}">${esc(pick(p.zh, p.en))}</a>`).join("");
}
