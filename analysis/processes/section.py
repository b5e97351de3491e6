"""``cross-section`` (横断面): the pipes a line across a street crosses, and a drawing of them.

For each crossing: offset along the section (m from its first point), category, material,
size, top and bottom depth, their elevations where the ground elevation is known, and owner.
The SVG is drawn to scale (one metre is the same on both axes) unless that would make it
flatter than 220 px; then the vertical axis is exaggerated (pipe outlines stay round, on the
horizontal scale) and the drawing says by how much.
"""

from __future__ import annotations

from shapely.geometry import LineString

from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.crossings import Crossing, crossings
from analysis.features import by_fid, collection
from analysis.inputs import METRIC_SRID, geometry, instant, to_metric
from analysis.network.categories import all_categories
from analysis.pipes import pipes_near
from analysis.processes.common import DATETIME_INPUT, output
from analysis.processes.section_svg import draw_section
from spatial.crs import crs_ref, transform_xy

MAX_SECTION_M = 300.0


def reads(inputs: JSON) -> list[str]:
    """Nothing required: every pipeline layer the caller may read is drawn."""
    _line(inputs)
    return []


def _line(inputs: JSON) -> LineString:
    line = geometry(inputs.get("line"), "line", ("LineString",))
    if len(line.coords) != 2:
        raise InvalidInput("line", f"give a two-point LineString across the street (got {len(line.coords)} points)")
    return line


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """The crossings and the drawing."""
    line = _line(inputs)
    metric = to_metric(line)
    if metric.length > MAX_SECTION_M:
        raise InvalidInput("line", f"the section is {metric.length:,.0f} m long; a cross-section spans at most "
                                   f"{MAX_SECTION_M:g} m")
    at = instant(inputs)
    cats = [c for c in all_categories() if ctx.readable(c.segments.id)]
    async with ctx.pool.acquire() as conn:
        found = crossings(metric, await pipes_near(conn, cats, line, 0.0, at))
        features: list[JSON] = []
        for cat in cats:
            mine = [c for c in found if c.pipe.cat.key == cat.key]
            if mine:
                rows = {f["id"]: f for f in await by_fid(conn, cat.segments, {c.pipe.fid for c in mine}, at)}
                features += [_feature(rows[c.pipe.fid], c) for c in mine if c.pipe.fid in rows]
    features.sort(key=lambda f: f["properties"]["offset_m"])
    svg = draw_section(found, metric.length)
    summary = {"length_m": round(metric.length, 2), "pipes": len(features), "datetime": inputs.get("datetime"),
               "categories": sorted({c.pipe.cat.category.zh for c in found})}
    return {"pipes": collection(features), "svg": svg, "summary": summary}


def _feature(base: JSON, c: Crossing) -> JSON:
    lon, lat = transform_xy([c.point_4547.x], [c.point_4547.y], src=crs_ref(METRIC_SRID))
    return {**base, "geometry": {"type": "Point", "coordinates": [round(float(lon[0]), 9), round(float(lat[0]), 9)]},
            "properties": {**base["properties"], **c.props()}}


PROCESS = ProcessDefinition(
    id="cross-section",
    title="Cross-section",
    title_zh="横断面分析",
    description=(
        "The pipes a two-point line across a street crosses: for each, its offset along the section, category, "
        "material, size, top and bottom depth and elevation, and owner; and an SVG drawing to scale with the "
        "ground line, pipes in CJJ 61 colours and Chinese labels. Features are the crossing points, carrying the "
        "segment's id and layer properties."
    ),
    description_zh="沿横跨道路的直线剖切，列出所穿越管线的偏距、类别、材质、规格、管顶/管底埋深与高程、权属单位，并生成按比例的横断面图（SVG）。",
    version="1.0.0",
    keywords=["横断面", "cross-section", "剖切"],
    inputs={
        "line": {"title": "剖切线 / Section line", "description": "A two-point GeoJSON LineString in CRS84, at most "
                 f"{MAX_SECTION_M:g} m long.", "schema": {"type": "object", "contentMediaType": "application/geo+json",
                                                          "properties": {"type": {"const": "LineString"}}},
                 "minOccurs": 1, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
    },
    outputs={
        "pipes": output("穿越管线 / Pipes crossed", "Crossing points with the segment's id, layer properties, "
                        "offset_m, top/bottom depth and elevation."),
        "svg": output("横断面图 / Drawing", "SVG drawing of the section.",
                      {"type": "string", "contentMediaType": "image/svg+xml"}),
        "summary": output("摘要 / Summary", "Section length and counts.", {"type": "object"}),
    },
    reads=reads,
    run=run,
    examples=[{"inputs": {"line": {"type": "LineString", "coordinates": [[112.9700, 28.1950], [112.9700, 28.1960]]}}}],
)
