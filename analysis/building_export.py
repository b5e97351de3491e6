"""The building statistics as files: CSV (UTF-8 with a BOM, so Excel reads the Chinese right) and XLSX.

One long table: a row per (instant or growth, breakdown, class) with the three measures, so a
pivot table or a script reads it without reshaping. The XLSX adds a sheet with the area and the rules.
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from openpyxl import Workbook

from analysis.building_stats import BREAKDOWNS
from analysis.contract import JSON

HEADINGS = ["时点 / As of", "分类 / Breakdown", "类别代码 / Key", "类别 / Class", "Class",
            "建筑数 / Buildings", "基底面积 m² / Footprint m²", "建筑面积 m² / Floor area m²"]
BREAKDOWN_NAMES = {"totals": "合计 / Total", "by_use": "用途 / Use", "by_age": "建成年代 / Age band",
                   "by_height": "高度分类 / Height class", "by_floor_rule": "层数规则 / Floor rule"}
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows_of(when: str, part: JSON) -> list[list[Any]]:
    t = part["totals"]
    rows = [[when, BREAKDOWN_NAMES["totals"], "", "合计", "Total", t["buildings"], t["footprint_m2"],
             t["floor_area_m2"]]]
    for name in BREAKDOWNS:
        rows += [[when, BREAKDOWN_NAMES[name], c["key"], c["label_zh"], c["label_en"], c["buildings"],
                  c["footprint_m2"], c["floor_area_m2"]] for c in part[name]]
    return rows


def table(stats: JSON) -> list[list[Any]]:
    """Headings, then every snapshot's rows, then the growth's (labelled 增长 from → to)."""
    rows: list[list[Any]] = [list(HEADINGS)]
    for snap in stats["snapshots"]:
        rows += _rows_of(snap["datetime"], snap)
    if stats.get("growth"):
        g = stats["growth"]
        rows += _rows_of(f"增长 / Growth {g['from']} → {g['to']}", g)
    return rows


def to_csv(stats: JSON) -> str:
    """The long table as CSV text (starting with a BOM)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table(stats))
    return "\ufeff" + out.getvalue()


def to_xlsx(stats: JSON) -> bytes:
    """The long table on sheet 建筑统计, the area and rules on sheet 说明."""
    book = Workbook()
    sheet = book.active
    sheet.title = "建筑统计"
    for row in table(stats):
        sheet.append(row)
    about = book.create_sheet("说明")
    area = stats["area"]
    for key in ("kind", "code", "name", "source", "cells", "area_m2"):
        about.append([f"area.{key}", area.get(key)])
    about.append(["规则", stats["rules"]["zh"]])
    about.append(["Rules", stats["rules"]["en"]])
    about.append(["数据", "建筑物图层 buildings（OSM 与 GHSL）；网格为示例数据时统计范围亦为示例"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_xlsx_base64(stats: JSON) -> str:
    """The XLSX as base64 text (how a binary output travels in JSON and in stored job results)."""
    return base64.b64encode(to_xlsx(stats)).decode("ascii")
