// The editing, history and swipe panels' words in Chinese and English (kept apart from i18n.js,
// which the whole page shares).
import { state } from "/map/static/state.js";

const TEXT = {
  zh: {
    edit: "编辑", history: "历史", pickHint: "在地图上点选要编辑的要素，或新建：", newFeature: "新建", layer: "图层",
    save: "保存", cancel: "放弃", retire: "注销要素", validFrom: "生效日期", comment: "变更说明", required: "必填",
    tooSmall: "不能小于", tooLarge: "不能大于", notInteger: "须为整数", notNumber: "须为数字", badPattern: "格式不符",
    tooLong: "过长", saved: "已保存，版本", undo: "撤销", redo: "重做", split: "分割", merge: "合并",
    splitHint: "画一条穿过要素的线（再点一次最后一点结束）", mergeHint: "点选要合并进来的另一个要素", geometry: "几何",
    conflict: "版本冲突：他人已修改此要素", mine: "我的", theirs: "当前（他人）", field: "字段",
    keepMine: "保留我的", takeTheirs: "采用对方", topology: "拓扑", derived: "联动修改", noEditable: "没有可编辑的图层（需要编辑员角色和图层授权）",
    signInToEdit: "登录编辑员账号后可编辑", pending: "待提交的修改", addToChangeset: "加入变更集", submitChangeset: "提交变更集",
    changesets: "变更集", undoChangeset: "撤销此变更集", bulk: "批量修改", filter: "CQL2 过滤条件", drawArea: "画范围",
    preview: "预览", apply: "执行", matched: "命中", setField: "设置字段", value: "值", versions: "版本",
    compare: "比较", showOld: "叠加旧版几何", diff: "属性差异", swipe: "卷帘对比", dateA: "日期 A", dateB: "日期 B",
    close: "关闭", retired: "已注销", selfIntersect: "几何问题", vertexHint: "拖动顶点移动；拖动中点加点；右键顶点删除",
    unavailable: "服务器尚未提供此功能", none: "无", op: "操作", actor: "编辑人", when: "时间", notEditable: "此图层不可编辑",
    done: "完成", fixFields: "请先更正标红的字段", splitFailed: "分割线须恰好两次穿过边界", mergeFailed: "合并需要同一图层的两个要素",
  },
  en: {
    edit: "Edit", history: "History", pickHint: "Click a feature on the map to edit it, or draw a new one:", newFeature: "New", layer: "Layer",
    save: "Save", cancel: "Discard", retire: "Retire feature", validFrom: "Valid from", comment: "Comment", required: "required",
    tooSmall: "must be at least", tooLarge: "must be at most", notInteger: "must be a whole number", notNumber: "must be a number", badPattern: "wrong format",
    tooLong: "too long", saved: "Saved, version", undo: "Undo", redo: "Redo", split: "Split", merge: "Merge",
    splitHint: "Draw a line across the feature (click its last point again to finish)", mergeHint: "Click the other feature to merge in", geometry: "Geometry",
    conflict: "Conflict: someone else changed this feature", mine: "Mine", theirs: "Current (theirs)", field: "Field",
    keepMine: "Keep mine", takeTheirs: "Take theirs", topology: "Topology", derived: "Derived changes", noEditable: "No editable layers (needs the editor role and a grant)",
    signInToEdit: "Sign in as an editor to edit", pending: "Pending edits", addToChangeset: "Add to changeset", submitChangeset: "Submit changeset",
    changesets: "Changesets", undoChangeset: "Undo this changeset", bulk: "Bulk edit", filter: "CQL2 filter", drawArea: "Draw area",
    preview: "Preview", apply: "Apply", matched: "matched", setField: "Set field", value: "Value", versions: "Versions",
    compare: "Compare", showOld: "Overlay old geometry", diff: "Attribute diff", swipe: "Swipe compare", dateA: "Date A", dateB: "Date B",
    close: "Close", retired: "retired", selfIntersect: "Geometry problem", vertexHint: "Drag a vertex to move it; drag a midpoint to add one; right-click a vertex to delete it",
    unavailable: "The server does not offer this yet", none: "none", op: "Op", actor: "Editor", when: "When", notEditable: "This layer is not editable",
    done: "Done", fixFields: "Correct the fields marked in red first", splitFailed: "The split line must cross the boundary exactly twice", mergeFailed: "Merging needs two features of one layer",
  },
};

/** The editing word for ``key`` in the page's language. */
export const et = (key) => TEXT[state.lang][key] ?? key;
