// The code list (/cases/codes): classes, state and action labels, and which actions a state and a
// role open. The server decides in the end (409/403); this only keeps pointless buttons away.
import { getJson, hasRole } from "/cases-static/common.js";
import { pick } from "/cases-static/i18n.js";

export const codes = { classes: [], states: [], actions: [], departments: [] };

const OPEN = ["reported", "accepted", "dispatched", "returned", "extended", "completed", "verifying"];
const [S, D, I, H, O] = ["supervisor", "dispatcher", "inspector", "handler", "operator"];
// The workflow's legal moves (from, action, roles), as the cases API's transition table holds them
// (issue 11's table). The server decides in the end; this only keeps pointless buttons away.
const MOVES = [
  ["reported", "accept", [O, S]], ["reported", "reject", [O, S]],
  ["accepted", "dispatch", [D]], ["returned", "dispatch", [D]], ["hung", "dispatch", [D, S]],
  ["dispatched", "complete", [H]], ["dispatched", "return", [H]],
  ["dispatched", "extend", [H, S]], ["extended", "extend", [S]],
  ["completed", "verify", [I]], ["verifying", "close", [I]], ["verifying", "redispatch", [I, D]],
  ...OPEN.map((s) => [s, "hang", [S]]), ...[...OPEN, "hung"].map((s) => [s, "cancel", [S]]),
];
// What each action asks for first (by the state it starts from when that matters).
const ASKS = {
  reject: ["reason"], dispatch: ["department", "deadline_hours"], complete: ["photos", "reason"],
  return: ["reason"], redispatch: ["reason"], hang: ["reason"], cancel: ["reason"],
  "extend@dispatched": ["deadline_hours", "reason"], "extend@extended": ["approve", "deadline_hours", "reason"],
};
const VERDICTS = { close: "fixed", redispatch: "not_fixed" };
const NAMES = {
  report: ["上报", "Report"], accept: ["立案", "Accept"], reject: ["不予立案", "Reject"], dispatch: ["派遣", "Dispatch"],
  complete: ["处置完成", "Complete"], return: ["退回", "Return"], verify: ["核查", "Verify"],
  close: ["结案", "Close"], redispatch: ["重新派遣", "Redispatch"], extend: ["延期", "Extend"],
  hang: ["挂账", "Hang"], cancel: ["作废", "Cancel"],
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
  return NAMES[code] ? pick(...NAMES[code]) : code;
}

/** What ``code`` asks for from ``state`` (reason, department, deadline, photos, approval) and its verdict. */
export const actionNeeds = (code, state) => ({
  ask: ASKS[`${code}@${state}`] || ASKS[code] || [], verdict: VERDICTS[code],
});

/** The actions ``me`` may take on ``item`` in its state (a handler only on its department's cases). */
export function allowedActions(me, item) {
  return MOVES.filter(([from, , roles]) => from === item.state && hasRole(me, ...roles))
    .filter(([, , roles]) => !(roles.length === 1 && roles[0] === H) || me.roles.has("admin")
      || !item.department || me.department === item.department)
    .map(([, code]) => code);
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
