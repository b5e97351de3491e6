// The 3D page's words in Chinese and English; the 2D map's words (sign-in, time) are reused.
import { $ } from "/map/static/dom.js";
import { t as t2 } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";
import { view } from "/map3d/static/state3d.js";

const TEXT = {
  zh: {
    title3d: "一张图 三维", subtitle3d: "地下管线三维展示", to2d: "二维", underground: "地下模式",
    groundOpacity: "地表透明度", pipes: "地下管线", buildings: "建筑", ground: "地表（道路、水系、用地、网格）",
    depth: "埋深", noTileset: "无三维数据", close: "关闭", items: "要素",
    segments: "管段", points: "管点", layer: "图层",
    openFolder: "打开本地文件夹", folder: "本地文件夹", openFolderHint: "打开 onemap tiles export 导出的三维瓦片文件夹（离线）",
  },
  en: {
    title3d: "One Map 3D", subtitle3d: "Underground pipelines in 3D", to2d: "2D", underground: "Underground",
    groundOpacity: "Ground opacity", pipes: "Underground pipelines", buildings: "Buildings",
    ground: "Ground (roads, water, land use, grid)", depth: "Depth",
    noTileset: "no 3D data", close: "Close", items: "Feature", segments: "segments", points: "points", layer: "Layer",
    openFolder: "Open folder", folder: "Folder", openFolderHint: "Open a 3D Tiles folder written by onemap tiles export (offline)",
  },
};

/** The word for ``key`` in the current language: the 3D page's own, else the 2D map's. */
export const t = (key) => TEXT[state.lang][key] ?? t2(key);

/** The time slider's label: the year shown, or "now". */
export const yearText = () => (view.year === null ? t("now") : String(view.year));

/** Put the current language's words into every element marked with data-i18n*. */
export function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $("lang").textContent = t("lang");
  $("time-label").textContent = yearText();
}

/** Switch between Chinese and English (remembered for both maps), then redraw via ``redraw``. */
export function toggleLanguage(redraw) {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("onemap.lang", state.lang);
  translate();
  redraw();
}
