"""The statistics as files: CSV (UTF-8 with a BOM, so Excel reads the Chinese right) and XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from cases.stats import COLUMNS

HEADINGS = {
    "key": "编码", "name": "名称", "reported": "上报数", "accepted": "立案数", "dispatched": "派遣数",
    "closed": "结案数", "on_time_disposal": "按期处置数", "rework": "返工数", "overdue": "超期数",
    "on_time_disposal_rate": "按期处置率", "on_time_close_rate": "按期结案率", "rework_rate": "返工率",
    "avg_handling_h": "平均处理时长（小时）",
}


def _table(stats: dict[str, Any]) -> list[list[Any]]:
    rows = [[HEADINGS[c] for c in COLUMNS]]
    rows += [[r.get(c) for c in COLUMNS] for r in stats["rows"]]
    rows.append([stats["totals"].get(c) for c in COLUMNS])
    return rows


def to_csv(stats: dict[str, Any]) -> bytes:
    """The rows and the totals as CSV."""
    out = io.StringIO()
    csv.writer(out).writerows(_table(stats))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(stats: dict[str, Any], *, title: str = "综合评价") -> bytes:
    """The rows and the totals as one XLSX sheet, then the top classes on a second."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in _table(stats):
        sheet.append(row)
    top = book.create_sheet("高发问题")
    top.append(["类型", "小类", "名称", "数量"])
    for item in stats["top_classes"]:
        top.append([item["kind"], item["small_class"], item["name"], item["count"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
