// The page's words in Chinese and English, and switching between them.
import { $ } from "/map/static/dom.js";
import { state } from "/map/static/state.js";

const TEXT = {
  zh: {
    title: "一张图", subtitle: "长沙时空信息云平台", layers: "图层", legend: "图例", threeD: "3D 建筑",
    signIn: "登录", signOut: "退出", user: "用户名", password: "密码", cancel: "取消", asOf: "时间",
    now: "现在", searchHint: "网格编码、建筑名称或地址、站名", sample: "示例数据", opacity: "透明度",
    versions: "历史版本", noResults: "没有找到", signInFailed: "登录失败：", signInMissing: "此服务器未提供登录",
    version: "版本", validFrom: "生效", loading: "加载中…", lang: "EN", restricted: "受限",
  },
  en: {
    title: "One Map", subtitle: "Changsha spatio-temporal platform", layers: "Layers", legend: "Legend",
    threeD: "3D buildings", signIn: "Sign in", signOut: "Sign out", user: "User", password: "Password",
    cancel: "Cancel", asOf: "As of", now: "now", searchHint: "Grid code, building name or address, station",
    sample: "sample data", opacity: "Opacity", versions: "Versions", noResults: "Nothing found",
    signInFailed: "Sign-in failed: ", signInMissing: "This server offers no sign-in", version: "Version",
    validFrom: "Valid from", loading: "Loading…", lang: "中文", restricted: "restricted",
  },
};

/** The word for ``key`` in the current language (the key itself when there is none). */
export const t = (key) => TEXT[state.lang][key] ?? key;

/** A collection's (or search hit's) title in the current language. */
export const title = (c) => (state.lang === "zh" ? c.title_zh : c.title_en);

/** ``zh`` or ``en``, whichever the page speaks. */
export const pick = (zh, en) => (state.lang === "zh" ? zh : en);

/** The time slider's label: the year shown, or "now". */
export const yearText = () => (state.year === null ? t("now") : String(state.year));

/** Put the current language's words into every element marked with data-i18n*. */
export function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $("lang").textContent = t("lang");
  $("time-label").textContent = yearText();
}

/** Switch between Chinese and English (remembered), then redraw what carries words via ``redraw``. */
export function toggleLanguage(redraw) {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("onemap.lang", state.lang);
  translate();
  redraw();
}
