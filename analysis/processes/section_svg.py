"""The cross-section drawing (横断面图): ground line, pipes to scale in CJJ 61 colours, Chinese labels."""

from __future__ import annotations

from collections.abc import Callable

from analysis.crossings import Crossing
from analysis.svg import Svg, hex_rgb

Scale = Callable[[float], float]

WIDTH, LEFT, RIGHT, TOP, BOTTOM = 760.0, 70.0, 20.0, 190.0, 50.0
MIN_PLOT_H = 220.0


def _nice_step(span: float, target: int = 8) -> float:
    raw = span / target
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if step >= raw:
            return step
    return 200.0


def draw_section(found: list[Crossing], length_m: float) -> str:
    """SVG of the crossings along a section ``length_m`` metres long.

    Heights are elevations (1985 datum) when every crossing has a ground elevation, else depths
    below a ground line at 0.
    """
    with_ground = bool(found) and all(c.ground_m is not None for c in found)
    ground = [(c.offset_m, c.ground_m if with_ground and c.ground_m is not None else 0.0) for c in found]
    levels = [g for _, g in ground] or [0.0]
    hi = max(levels) + 0.5
    lo = min([g - c.bottom_depth_m for (_, g), c in zip(ground, found, strict=True)] or [-2.0]) - 0.5
    plot_w = WIDTH - LEFT - RIGHT
    px = plot_w / max(length_m, 1.0)
    py = px
    exaggeration = 1.0
    if (hi - lo) * py < MIN_PLOT_H:
        exaggeration = MIN_PLOT_H / ((hi - lo) * px)
        py = px * exaggeration
    height = TOP + (hi - lo) * py + BOTTOM
    svg = Svg(WIDTH, height, "横断面图")

    def x(m: float) -> float:
        return LEFT + m * px

    def y(level: float) -> float:
        return TOP + (hi - level) * py

    svg.label(WIDTH / 2, 22, "横断面图", size=16, anchor="middle", font_weight="bold")
    scale = "1:1（等比例）" if exaggeration == 1.0 else f"竖向放大 {exaggeration:.1f} 倍"
    datum = "高程：1985国家高程基准（m）" if with_ground else "埋深（m，地面为 0）"
    svg.label(WIDTH / 2, 40, f"剖面长 {length_m:.1f} m · {scale} · {datum}", size=11, anchor="middle")
    line = [(0.0, ground[0][1] if ground else 0.0), *ground, (length_m, ground[-1][1] if ground else 0.0)]
    svg.polyline([(x(m), y(g)) for m, g in line], stroke="#6b4f1d", stroke_width=2)
    svg.label(x(0) + 4, y(line[0][1]) - 4, "地面线", size=10, fill="#6b4f1d")
    _axes(svg, x, y, lo, hi, length_m)
    for c, (off, g) in zip(found, ground, strict=True):
        colour = hex_rgb(c.pipe.cat.category.rgb)
        # Pipe outlines use the horizontal scale, so an exaggerated drawing keeps them round.
        w, h = max(c.pipe.width_m * px, 4.0), max(c.pipe.height_m * px, 4.0)
        cy = y(g - (c.top_depth_m + c.bottom_depth_m) / 2)
        if c.pipe.row.get("section"):
            svg.add("rect", x=x(off) - w / 2, y=cy - h / 2, width=w, height=h, fill=colour, stroke="#333333")
        else:
            svg.add("ellipse", cx=x(off), cy=cy, rx=w / 2, ry=h / 2, fill=colour, stroke="#333333")
        props = c.props()
        text = f"{props['pipe_category_zh']} {props['size']} {props['material_zh'] or ''} 顶深{c.top_depth_m:.2f}m"
        svg.label(x(off), TOP - 10, text, size=10, anchor="start",
                  transform=f"rotate(-60 {x(off):.2f} {TOP - 10:.2f})")
        svg.add("line", x1=x(off), y1=TOP - 4, x2=x(off), y2=cy - h / 2, stroke="#999999", stroke_dasharray="2,2")
    return svg.text()


def _axes(svg: Svg, fx: Scale, fy: Scale, lo: float, hi: float, length_m: float) -> None:
    base = fy(lo)
    svg.add("line", x1=fx(0), y1=base, x2=fx(length_m), y2=base, stroke="#000000")
    step = _nice_step(length_m)
    m = 0.0
    while m <= length_m + 1e-9:
        svg.add("line", x1=fx(m), y1=base, x2=fx(m), y2=base + 4, stroke="#000000")
        svg.label(fx(m), base + 16, f"{m:g}", size=10, anchor="middle")
        m += step
    svg.label(fx(length_m / 2), base + 34, "偏距（m）", size=11, anchor="middle")
    svg.add("line", x1=fx(0), y1=fy(hi), x2=fx(0), y2=base, stroke="#000000")
    vstep = _nice_step(hi - lo, 6)
    level = vstep * round(lo / vstep)
    while level <= hi + 1e-9:
        if level >= lo:
            svg.add("line", x1=fx(0) - 4, y1=fy(level), x2=fx(0), y2=fy(level), stroke="#000000")
            svg.label(fx(0) - 6, fy(level) + 4, f"{level:g}", size=10, anchor="end")
        level += vstep
