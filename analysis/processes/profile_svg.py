"""The longitudinal profile drawing (纵断面图): ground line, pipe invert and crown, wells, a figures table."""

from __future__ import annotations

import math
from collections.abc import Callable

from analysis.svg import Svg, hex_rgb

WIDTH, LEFT, RIGHT, TOP, PLOT_H = 860.0, 90.0, 30.0, 60.0, 260.0
ROW_H = 18.0


def _num(row: dict[str, object], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else None


def draw_profile(rows: list[dict[str, object]], wells: list[dict[str, object]], *, gravity: bool,
                 rgb: tuple[int, int, int], diameters_m: list[float]) -> str:
    """SVG of a profile; heights are elevations (1985 datum), the vertical axis exaggerated to fit."""
    total = (_num(rows[-1], "station_end_m") or 1.0) if rows else 1.0
    levels = [v for w in wells for v in (_num(w, "ground_elev_m"), _num(w, "level_m")) if v is not None]
    hi = max(levels, default=1.0) + 0.5
    lo = min(levels, default=0.0) - 0.5
    px = (WIDTH - LEFT - RIGHT) / max(total, 1.0)
    py = PLOT_H / max(hi - lo, 0.1)
    table = ["桩号 (m)", "地面高程 (m)", "管底高程 (m)" if gravity else "管顶高程 (m)", "点号"]
    height = TOP + PLOT_H + 30 + ROW_H * (len(table) + 2)
    svg = Svg(WIDTH, height, "纵断面图")

    def x(m: float) -> float:
        return LEFT + m * px

    def y(level: float) -> float:
        return TOP + (hi - level) * py

    svg.label(WIDTH / 2, 22, "纵断面图", size=16, anchor="middle", font_weight="bold")
    svg.label(WIDTH / 2, 40, f"全长 {total:.1f} m · 竖向放大 {py / px:.0f} 倍 · 高程：1985国家高程基准（m）",
              size=11, anchor="middle")
    colour = hex_rgb(rgb)
    grounds = [(_num(w, "station_m") or 0.0, g) for w in wells if (g := _num(w, "ground_elev_m")) is not None]
    if grounds:
        svg.polyline([(x(s), y(g)) for s, g in grounds], stroke="#6b4f1d", stroke_width=2)
        svg.label(x(grounds[0][0]) + 4, y(grounds[0][1]) - 6, "地面线", size=10, fill="#6b4f1d")
    for row, dia in zip(rows, diameters_m, strict=True):
        a, b = _num(row, "level_start_m"), _num(row, "level_end_m")
        if a is None or b is None:
            continue
        s0, s1 = _num(row, "station_start_m") or 0.0, _num(row, "station_end_m") or 0.0
        off = dia if gravity else -dia  # the second line is the crown above an invert, or the bottom below a top
        svg.polyline([(x(s0), y(a)), (x(s1), y(b))], stroke=colour, stroke_width=2)
        svg.polyline([(x(s0), y(a + off)), (x(s1), y(b + off))], stroke=colour, stroke_width=1)
        slope = _num(row, "slope_permille")
        if slope is not None:
            svg.label(x((s0 + s1) / 2), y(max(a, b) + abs(off)) - 6, f"{row['segment_no']} i={slope:.1f}‰",
                      size=9, anchor="middle")
    for w in wells:
        s, g, lv = _num(w, "station_m"), _num(w, "ground_elev_m"), _num(w, "level_m")
        if s is not None and g is not None and lv is not None:
            svg.add("rect", x=x(s) - 3, y=y(g), width=6.0, height=max(y(lv) - y(g), 1.0), fill="none",
                    stroke="#333333")
    _table(svg, x, table, wells, TOP + PLOT_H + 30)
    return svg.text()


def _fmt(value: object) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _table(svg: Svg, x: Callable[[float], float], heads: list[str], wells: list[dict[str, object]], top: float) -> None:
    for i, head in enumerate(heads):
        yy = top + ROW_H * (i + 1)
        svg.label(8, yy, head, size=10)
        svg.add("line", x1=4.0, y1=yy + 5, x2=WIDTH - 4, y2=yy + 5, stroke="#cccccc")
        for w in wells:
            value = [w["station_m"], w["ground_elev_m"], w["level_m"], w["point_no"]][i]
            svg.label(x(_num(w, "station_m") or 0.0), yy, _fmt(value), size=9, anchor="middle")
