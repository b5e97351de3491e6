"""``longitudinal-profile`` (纵断面): ground and invert elevations, slopes and wells along a pipe path."""

from __future__ import annotations

from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.features import by_fid, collection
from analysis.inputs import instant
from analysis.network.categories import resolve_category
from analysis.processes.common import (
    CATEGORY_INPUT,
    DATETIME_INPUT,
    REF_SCHEMA,
    category_reads,
    network,
    output,
    point_ref,
    segment_start,
)
from analysis.processes.profile_svg import draw_profile
from analysis.profile import Leg, chain, figures, path_between

MAX_SEGMENTS = 500


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """The profile along ``from`` → ``to`` or along the listed ``segments``."""
    cat = resolve_category(inputs.get("category"))
    at = instant(inputs)
    net = await network(ctx, cat, at)
    legs: list[Leg]
    if inputs.get("segments") is not None:
        given = inputs["segments"]
        if not isinstance(given, list) or not given or len(given) > MAX_SEGMENTS:
            raise InvalidInput("segments", f"give a list of 1–{MAX_SEGMENTS} segments")
        segs = []
        for value in given:
            start = await segment_start(ctx, net, cat, value, "segments", at, points_allowed=False)
            assert start.segment is not None
            segs.append(start.segment)
        legs = chain(net, segs)
    elif inputs.get("from") is not None and inputs.get("to") is not None:
        legs = path_between(net, point_ref(net, cat, inputs["from"], "from"), point_ref(net, cat, inputs["to"], "to"))
    else:
        raise InvalidInput("from", "give from and to (two points), or segments (a list)")
    rows, wells = figures(net, legs)
    diameters = [float(net.seg_diameter_m[leg.seg]) for leg in legs]
    async with ctx.pool.acquire() as conn:
        seg_fc = await by_fid(conn, cat.segments, {int(net.seg_fid[leg.seg]) for leg in legs}, at)
        pt_fc = await by_fid(conn, cat.points, {f for w in wells if isinstance(f := w["fid"], int)}, at)
    svg = draw_profile(rows, wells, gravity=cat.gravity, rgb=cat.category.rgb, diameters_m=diameters)
    total = rows[-1]["station_end_m"] if rows else 0.0
    summary = {"category": cat.key, "gravity": cat.gravity, "length_m": total, "segments": len(rows),
               "wells": len(wells), "level": "invert (管内底)" if cat.gravity else "pipe top (管顶)",
               "against_flow": sum(1 for r in rows if not r["with_flow"]), "datetime": inputs.get("datetime")}
    return {"profile": rows, "wells": wells, "segments": collection(seg_fc), "points": collection(pt_fc),
            "svg": svg, "summary": summary}


PROCESS = ProcessDefinition(
    id="longitudinal-profile",
    title="Longitudinal profile",
    title_zh="纵断面分析",
    description=(
        "Along the shortest pipe path between two points (from, to), or along a list of segments: stations, "
        "ground and invert elevations (pipe top on pressure networks), slope per segment (‰, positive when "
        "falling along the path), well positions, and an SVG drawing with a figures table. Meant for gravity "
        "networks (雨水, 污水); elevations are ground elevation − depth."
    ),
    description_zh="沿两管点间最短管线路径（或给定管段）生成纵断面：桩号、地面高程、管底高程、坡度（‰）与检查井位置，并绘制纵断面图（SVG）。",
    version="1.0.0",
    keywords=["纵断面", "longitudinal profile", "坡度"],
    inputs={
        "category": CATEGORY_INPUT,
        "from": {"title": "起点 / From", "description": "A point: feature id, point_no, or a CRS84 Point (nearest "
                 "point within 50 m).", "schema": REF_SCHEMA, "minOccurs": 0, "maxOccurs": 1},
        "to": {"title": "终点 / To", "description": "A point, as for from.", "schema": REF_SCHEMA,
               "minOccurs": 0, "maxOccurs": 1},
        "segments": {"title": "管段 / Segments", "description": "Instead of from/to: segments forming one "
                     "unbranched path, in any order.", "schema": {"type": "array", "items": REF_SCHEMA},
                     "minOccurs": 0, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
    },
    outputs={
        "profile": output("纵断面数据 / Profile", "Per segment: stations, levels at both ends, slope (‰), whether "
                          "the path runs with the flow.", {"type": "array", "items": {"type": "object"}}),
        "wells": output("井位 / Wells", "Per point: station, ground elevation, level and depth.",
                        {"type": "array", "items": {"type": "object"}}),
        "segments": output("管段 / Segments", "The path's segments with their layer properties."),
        "points": output("管点 / Points", "The path's points with their layer properties."),
        "svg": output("纵断面图 / Drawing", "SVG drawing of the profile.",
                      {"type": "string", "contentMediaType": "image/svg+xml"}),
        "summary": output("摘要 / Summary", "Length, counts, and what the level is.", {"type": "object"}),
    },
    reads=category_reads,
    run=run,
    examples=[{"inputs": {"category": "污水", "from": {"type": "Point", "coordinates": [112.96917, 28.19542]},
                          "to": {"type": "Point", "coordinates": [112.97032, 28.19552]}}}],
)
