"""``pipe-trace`` (连通/上下游追踪): the pipes and points connected to a start, or up/downstream of it."""

from __future__ import annotations

from typing import cast

from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.features import by_fid, collection
from analysis.inputs import instant, number
from analysis.network.categories import resolve_category
from analysis.network.trace import Direction, trace
from analysis.processes.common import (
    CATEGORY_INPUT,
    DATETIME_INPUT,
    REF_SCHEMA,
    category_reads,
    length_m,
    network,
    node_fids,
    output,
    segment_fids,
    segment_start,
)

DIRECTIONS = ("connected", "upstream", "downstream")


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """Trace from ``start``; see the process description."""
    cat = resolve_category(inputs.get("category"))
    direction = inputs.get("direction", "connected")
    if direction not in DIRECTIONS:
        raise InvalidInput("direction", f"must be one of {', '.join(DIRECTIONS)} (got {direction!r})")
    at = instant(inputs)
    limit = number(inputs, "max_length_m", minimum=0.0)
    net = await network(ctx, cat, at)
    start = await segment_start(ctx, net, cat, inputs.get("start"), "start", at)
    segs, nodes = trace(net, start, cast(Direction, direction), limit)
    await ctx.progress(50, "traced")
    async with ctx.pool.acquire() as conn:
        seg_out = await by_fid(conn, cat.segments, segment_fids(net, segs), at) if ctx.readable(cat.segments.id) else []
        pt_out = await by_fid(conn, cat.points, node_fids(net, nodes), at) if ctx.readable(cat.points.id) else []
    summary = {
        "category": cat.key, "direction": direction, "gravity": cat.gravity, "datetime": inputs.get("datetime"),
        "segments": len(seg_out), "points": len(pt_out), "length_m": length_m(net, segs),
        "network_segments": net.segment_count,
    }
    return {"segments": collection(seg_out), "points": collection(pt_out), "summary": summary}


PROCESS = ProcessDefinition(
    id="pipe-trace",
    title="Pipe trace",
    title_zh="管线连通追踪",
    description=(
        "Pipes and points connected to a start pipe or point of one category, as of a date; or only those "
        "upstream/downstream of it. On gravity networks (雨水, 污水/雨污合流) flow runs from the higher invert "
        "(ground elevation − depth) to the lower, else along the declared direction (start → end, 流向 逆向 "
        "reverses it). Other networks are traced along the declared start → end direction."
    ),
    description_zh="按类别与时点追踪与起点连通（或其上游/下游）的管段与管点。重力管网按管底高程判断流向。",
    version="1.0.0",
    keywords=["管线", "连通分析", "trace", "upstream", "downstream"],
    inputs={
        "category": CATEGORY_INPUT,
        "start": {"title": "起点 / Start", "description": "A segment or point: feature id, segment_no/point_no, or "
                  "a GeoJSON Point in CRS84 snapped to the nearest segment within 50 m.",
                  "schema": REF_SCHEMA, "minOccurs": 1, "maxOccurs": 1},
        "direction": {"title": "方向 / Direction", "description": "connected (default), upstream or downstream.",
                      "schema": {"type": "string", "enum": list(DIRECTIONS), "default": "connected"},
                      "minOccurs": 0, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
        "max_length_m": {"title": "最大追踪长度 / Max length (m)", "description": "Take only segments lying wholly "
                         "within this network distance of the start (the start segment always).",
                         "schema": {"type": "number", "minimum": 0}, "minOccurs": 0, "maxOccurs": 1},
    },
    outputs={
        "segments": output("管段 / Segments", "Traced segments with their layer properties (id = fid)."),
        "points": output("管点 / Points", "Points at the ends of traced segments, with their layer properties."),
        "summary": output("摘要 / Summary", "Counts and total length (m).", {"type": "object"}),
    },
    reads=category_reads,
    run=run,
    examples=[
        {"inputs": {"category": "storm", "start": {"type": "Point", "coordinates": [112.96995, 28.19539]},
                    "direction": "downstream"}},
        {"inputs": {"category": "给水", "start": {"type": "Point", "coordinates": [112.97021, 28.19553]},
                    "max_length_m": 500}},
    ],
)
