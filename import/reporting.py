"""The HTML import report (standalone: opens from disk, loads nothing) and the console summary."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import folium
import jinja2
import orjson

from ingest.report import MAP_SAMPLE, Report
from styles.folium_offline import render_offline

SHOWN_ROWS = 1000
STATUS_ZH = {"imported": "已导入", "refused": "已拒收", "dry-run": "试运行", "failed": "失败"}
COUNT_NAMES = [("read", "读取"), ("valid", "有效"), ("inserted", "新增"), ("new_versions", "新版本"),
               ("unchanged", "未变"), ("retired", "退役"), ("rejected", "拒收"), ("repaired", "修复")]
LAYER_NAMES = [("read", "读取"), ("valid", "有效"), ("rejected", "拒收"), ("inserted", "新增"),
               ("new_versions", "新版本"), ("unchanged", "未变"), ("retired", "退役")]
_STYLE: dict[str, dict[str, Any]] = {
    "rejected": {"color": "#d32f2f", "weight": 3, "fillOpacity": 0.35},
    "insert": {"color": "#2e7d32", "weight": 2, "fillOpacity": 0.25},
    "replace": {"color": "#ef6c00", "weight": 2, "fillOpacity": 0.25},
    "retire": {"color": "#757575", "weight": 2, "dashArray": "4 4", "fillOpacity": 0.1},
}
_TITLES = {"rejected": "拒收 rejected", "insert": "新增 new", "replace": "新版本 new version",
           "retire": "退役 retired"}


def _features(report: Report) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {k: [] for k in _STYLE}
    for r in report.rejections:
        if r.geometry is not None and len(groups["rejected"]) < MAP_SAMPLE:
            reasons = "; ".join(f"{x['field']}: {x['message']}" for x in r.reasons)
            groups["rejected"].append({"type": "Feature", "geometry": r.geometry,
                                       "properties": {"what": f"{r.source} row {r.row}", "why": reasons}})
    for c in report.changed_sample:
        if c["op"] in groups and c["geometry"] is not None:
            groups[c["op"]].append({"type": "Feature", "geometry": c["geometry"],
                                    "properties": {"what": f"{c['layer']} {c['label'] or ''} (fid {c['fid']})",
                                                   "why": f"{c['op']} → version {c['version']}"}})
    return {k: v for k, v in groups.items() if v}


def map_html(report: Report) -> str | None:
    """The folium map of rejected and changed features, every asset inline; None when there is nothing."""
    groups = _features(report)
    if not groups:
        return None
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True)
    bounds: list[list[float]] = []
    for kind, features in groups.items():
        style = _STYLE[kind]
        layer = folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name=f"{_TITLES[kind]} ({len(features)})",
            style_function=lambda _f, s=style: s,
            marker=folium.CircleMarker(radius=5, fill=True, color=style["color"], fill_color=style["color"]),
            tooltip=folium.GeoJsonTooltip(fields=["what", "why"], aliases=["", ""], labels=False),
        )
        layer.add_to(m)
        b = layer.get_bounds()
        if b and b[0][0] is not None:
            bounds += [[float(v) for v in corner if v is not None] for corner in b]
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds:
        lats = [p[0] for p in bounds]
        lons = [p[1] for p in bounds]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])
    return render_offline(m, mode="inline")


def render_html(report: Report) -> str:
    """The standalone HTML report (map and every asset inline)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("import").joinpath("templates/report.html.j2").read_text("utf-8"))
    data = report.as_dict()
    return template.render(
        r=report, d=data, status_zh=STATUS_ZH.get(report.status, report.status), count_names=COUNT_NAMES,
        layer_names=LAYER_NAMES, map_html=map_html(report), sample=MAP_SAMPLE,
        shown=min(len(report.rejections) or SHOWN_ROWS, SHOWN_ROWS),
        options_json=orjson.dumps(data["options"], option=orjson.OPT_INDENT_2).decode(),
    )


def write_html(report: Report, path: Path) -> Path:
    """Write :func:`render_html` to ``path`` and return the path."""
    path.write_text(render_html(report), encoding="utf-8")
    return path


def summary(report: Report, out: Path) -> str:
    """A few lines for the terminal: what happened, the counts, the top reasons, where the reports are."""
    c = report.counts
    lines = [
        f"{STATUS_ZH.get(report.status, '')} {report.status.upper()}: {report.decision}",
        f"  read {c['read']}, valid {c['valid']}, inserted {c['inserted']}, new versions {c['new_versions']}, "
        f"unchanged {c['unchanged']}, retired {c['retired']}, rejected {c['rejected']}, repaired {c['repaired']}"
        f" ({report.seconds:.1f} s, {c['read'] / report.seconds if report.seconds else 0:,.0f} rows/s)",
    ]
    if report.error:
        lines.append(f"  error: {report.error}")
    for s in report.sources:
        if s.get("crs"):
            lines.append(f"  {Path(s['file']).name}: {s['crs']['reason']}")
    for x in report.inferred[:5]:
        lines.append(f"  inferred {x['rows']} × {x['field']} = {x['value']} ({x['how']}; {x['source']})")
    for x in report.reasons_summary()[:5]:
        lines.append(f"  {x['rows']} × {x['field']} ({x['code']}): {x['example']}")
    lines.append(f"  report: {out / 'report.html'} and {out / 'report.json'}")
    return "\n".join(lines)
