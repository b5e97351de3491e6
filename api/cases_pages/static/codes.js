// The code list (/cases/codes): classes, state and action labels, and which actions a state and a
// role open. The server decides in the end (409/403); this only keeps pointless buttons away.
import { getJson, hasRole } from "/cases-static/common.js";
import { pick } from "/cases-static/i18n.js";

export const codes = { classes: [], states: [], actions: [], departments: [] };

const OPEN = ["reported", "accepted", "dispatched", "completed", "verifying", "returned", "extended", "hung"];
// The workflow of issue 11: from which states, by which roles, and what each action asks for.
const WORKFLOW = {
  accept: { from: ["reported"], roles: ["operator", "supervisor"], zh: "立案", en: "Accept" },
  reject: { from: ["reported"], roles: ["operator", "supervisor"], zh: "不予立案", en: "Reject", ask: ["reason"] },
  dispatch: { from: ["accepted", "returned"], roles: ["dispatcher"], zh: "派遣", en: "Dispatch",
    ask: ["department", "deadline_hours"] },
  complete: { from: ["dispatched", "extended"], roles: ["handler"], zh: "处置完成", en: "Complete", ask: ["photos", "reason"] },
  return: { from: ["dispatched", "extended"], roles: ["handler"], zh: "退回", en: "Return", ask: ["reason"] },
  verify: { from: ["completed"], roles: ["inspector"], zh: "核查", en: "Verify" },
  close: { from: ["verifying"], roles: ["inspector"], zh: "结案", en: "Close", verdict: "fixed" },
  redispatch: { from: ["verifying"], roles: ["inspector"], zh: "重新派遣", en: "Redispatch", verdict: "not_fixed",
    ask: ["reason"] },
  extend: { from: OPEN, roles: ["supervisor"], zh: "延期", en: "Extend", ask: ["reason", "deadline_hours", "approve"] },
  hang: { from: OPEN, roles: ["supervisor"], zh: "挂账", en: "Hang", ask: ["reason"] },
  cancel: { from: OPEN, roles: ["supervisor"], zh: "作废", en: "Cancel", ask: ["reason"] },
};
const STATES = {
  reported: ["上报", "Reported"], accepted: ["立案", "Accepted"], rejected: ["不予立案", "Rejected"],
  dispatched: ["派遣", "Dispatched"], completed: ["处置完成", "Completed"], verifying: ["核查", "Verifying"],
  closed: ["结案", "Closed"], returned: ["退回", "Returned"], extended: ["延期", "Extended"],
  hung: ["挂账", "Hung"], cancelled: ["作废", "Cancelled"],
};

/** Load the code list and departments once (departments may be missing: then codes only). */
export async function loadCodes() {
  Object.assign(codes, await getJson("/cases/codes"));
  codes.departments = await getJson("/cases/departments").catch(() => []);
  return codes;
}

/** A state's label in the page's language (the code list's, else the built-in one). */
export function stateLabel(code) {
  const s = (codes.states || []).find((x) => x.code === code);
  if (s) return pick(s.zh, s.en);
  return STATES[code] ? pick(...STATES[code]) : code;
}

/** An action's label, from the code list when it names one. */
export function actionLabel(code) {
  const a = (codes.actions || []).find((x) => (typeof x === "string" ? x : x.code) === code);
  if (a && typeof a === "object" && (a.zh || a.name)) return pick(a.zh || a.name, a.en);
  return WORKFLOW[code] ? pick(WORKFLOW[code].zh, WORKFLOW[code].en) : code;
}

/** What the action asks for (reason, department, deadline, photos, approval) and its verdict. */
export const actionNeeds = (code) => WORKFLOW[code] || { ask: [] };

/** The actions ``me`` may take on a case in ``state`` (handlers only on their department's cases). */
export function allowedActions(me, item) {
  return Object.entries(WORKFLOW)
    .filter(([, a]) => a.from.includes(item.state) && hasRole(me, ...a.roles))
    .filter(([, a]) => !a.roles.includes("handler") || !me.department || !item.department
      || me.department === item.department || hasRole(me, "supervisor"))
    .map(([code]) => code);
}

/** The big classes of ``kind`` as [{code, name}], in code-list order. */
export function bigClasses(kind) {
  const seen = new Map();
  for (const c of codes.classes) if (c.kind === kind && !seen.has(c.big_class)) seen.set(c.big_class, c.big_name);
  return [...seen].map(([code, name]) => ({ code, name }));
}

/** The small classes of ``kind`` under ``big``. */
export const smallClasses = (kind, big) => codes.classes.filter((c) => c.kind === kind && c.big_class === big);

/** A class's display name: "大类 / 小类" (the codes when the list does not know them). */
export function className(kind, big, small) {
  const c = codes.classes.find((x) => x.kind === kind && x.small_class === small && (!big || x.big_class === big));
  return c ? `${c.big_name} / ${c.small_name}` : [big, small].filter(Boolean).join(" / ");
}

/** A department's name from its code. */
export function departmentName(code) {
  const d = (codes.departments || []).find((x) => x.code === code);
  return d ? d.name : code || "";
}

/** The class's time limit in hours (working days count 8 h), for the dispatch prompt's default. */
export function defaultDeadlineHours(kind, small) {
  const c = codes.classes.find((x) => x.kind === kind && x.small_class === small);
  if (!c || !c.time_limit) return 24;
  return c.time_limit.unit === "working_days" ? c.time_limit.value * 8 : c.time_limit.value;
}
