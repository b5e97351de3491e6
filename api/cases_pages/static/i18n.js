// The case pages' words in Chinese (first) and English; the language is shared with the web map.
import { $ } from "/cases-static/common.js";

export const lang = { current: localStorage.getItem("onemap.lang") || "zh" };

const TEXT = {
  zh: {
    lang: "EN", signOut: "退出", map: "一张图", report: "问题上报", console: "受理派遣", tasks: "处置任务",
    verify: "核查任务", dashboard: "综合评价", loading: "加载中…", locate: "GPS 定位", locating: "定位中…",
    tapMap: "或在地图上点选位置", located: "已定位", noLocation: "请先定位或在地图上点选位置",
    kind: "类型", component: "部件", event: "事件", bigClass: "大类", smallClass: "小类", choose: "请选择",
    photo: "照片", description: "问题描述", send: "上报", sending: "上报中…", sent: "已上报，案卷号",
    sendFailed: "上报失败，已保存草稿：", timeout: "网络超时", offline: "网络不可用",
    draftFound: "有一份未发送的草稿", resend: "重新上报", discard: "丢弃草稿", draftSaved: "草稿已保存",
    geoDenied: "无法获取位置：", queue: "案卷队列", all: "全部", refresh: "刷新", caseNo: "案卷号",
    state: "状态", klass: "类别", grid: "网格", department: "处置部门", timeUsed: "已用时", timeLeft: "剩余",
    overdue: "超期", reportedAt: "上报时间", deadline: "处置时限", history: "处理过程", photos: "照片",
    actions: "操作", noActions: "当前状态下您没有可执行的操作", live: "实时", liveOff: "连接中断，重连中…",
    newCase: "新案卷", selectCase: "请从左侧选择案卷", reason: "理由", deadlineHours: "处置时限（小时）",
    confirm: "确定", cancel: "取消", verdict: "核查结论", fixed: "已处置", notFixed: "未处置",
    approve: "批准延期", attachPhotos: "处置照片", done: "完成", community: "社区", street: "街道",
    district: "区县", componentCode: "部件编码", reporter: "上报人", handler: "处置人", empty: "没有案卷",
    from: "开始", to: "结束", by: "统计维度", apply: "统计", exportCsv: "导出 CSV", exportXlsx: "导出 Excel",
    reported: "上报数", accepted: "立案数", dispatched: "派遣数", closed: "结案数",
    onTimeDisposalRate: "按期处置率", onTimeCloseRate: "按期结案率", reworkRate: "返工率",
    avgHandling: "平均处置时长", totals: "合计", name: "名称", topClasses: "高发问题类别", hotspots: "热点网格",
    choropleth: "分级设色", heatmap: "热力图", count: "数量", inspector: "监督员", areaFilter: "区县（可选）", streetFilter: "街道（可选）",
    forbidden: "没有权限", signedInAs: "当前用户", byState: "按状态", description_: "描述", source: "来源",
    urgency: "紧急程度", component_: "部件", attachments: "附件", actor: "处理人", at: "时间",
    mobileBack: "返回列表", sample: "示例数据",
  },
  en: {
    lang: "中文", signOut: "Sign out", map: "One Map", report: "Report", console: "Console", tasks: "Tasks",
    verify: "Verify", dashboard: "Dashboard", loading: "Loading…", locate: "Use GPS", locating: "Locating…",
    tapMap: "or tap the map", located: "Located", noLocation: "Locate first, or tap the map",
    kind: "Kind", component: "Component", event: "Event", bigClass: "Class", smallClass: "Subclass",
    choose: "Choose", photo: "Photo", description: "Description", send: "Send", sending: "Sending…",
    sent: "Sent, case number", sendFailed: "Sending failed, draft kept: ", timeout: "network timeout",
    offline: "network unavailable", draftFound: "An unsent draft is waiting", resend: "Send again",
    discard: "Discard draft", draftSaved: "Draft saved", geoDenied: "No position: ", queue: "Queue",
    all: "All", refresh: "Refresh", caseNo: "Case no.", state: "State", klass: "Class", grid: "Grid",
    department: "Department", timeUsed: "Used", timeLeft: "Left", overdue: "Overdue", reportedAt: "Reported",
    deadline: "Deadline", history: "History", photos: "Photos", actions: "Actions",
    noActions: "No action is open to you in this state", live: "live", liveOff: "disconnected, retrying…",
    newCase: "New case", selectCase: "Choose a case from the list", reason: "Reason",
    deadlineHours: "Deadline (hours)", confirm: "OK", cancel: "Cancel", verdict: "Verdict", fixed: "Fixed",
    notFixed: "Not fixed", approve: "Approve the extension", attachPhotos: "Photos of the work", done: "Done",
    community: "Community", street: "Street", district: "District", componentCode: "Component code",
    reporter: "Reporter", handler: "Handler", empty: "No cases", from: "From", to: "To", by: "Group by",
    apply: "Compute", exportCsv: "Export CSV", exportXlsx: "Export Excel", reported: "Reported",
    accepted: "Accepted", dispatched: "Dispatched", closed: "Closed", onTimeDisposalRate: "On-time disposal",
    onTimeCloseRate: "On-time closure", reworkRate: "Rework rate", avgHandling: "Avg. handling time",
    totals: "Total", name: "Name", topClasses: "Top classes", hotspots: "Hotspot cells",
    choropleth: "Choropleth", heatmap: "Heatmap", count: "Count", inspector: "Inspector",
    areaFilter: "District (optional)", streetFilter: "Street (optional)", forbidden: "Not allowed", signedInAs: "Signed in as",
    byState: "By state", description_: "Description", source: "Source", urgency: "Urgency",
    component_: "Component", attachments: "Attachments", actor: "By", at: "At", mobileBack: "Back to the list",
    sample: "sample data",
  },
};

/** The word for ``key`` in the current language (the key itself when there is none). */
export const t = (key) => TEXT[lang.current][key] ?? key;

/** ``zh`` or ``en``, whichever the page speaks. */
export const pick = (zh, en) => (lang.current === "zh" ? zh : en ?? zh);

/** Put the current language's words into every element marked with data-i18n*. */
export function translate() {
  document.documentElement.lang = lang.current === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  const button = $("lang");
  if (button) button.textContent = t("lang");
}

/** Wire the language button: switch (remembered for the web map too), translate, then ``redraw``. */
export function setupLanguage(redraw = () => {}) {
  translate();
  const button = $("lang");
  if (!button) return;
  button.onclick = () => {
    lang.current = lang.current === "zh" ? "en" : "zh";
    localStorage.setItem("onemap.lang", lang.current);
    translate();
    redraw();
  };
}
