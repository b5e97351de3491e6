"""``valve-isolation`` (关阀分析 / 爆管分析): the valves to close around a break, and who loses supply.

Like Giswater's *mincut*: from the broken pipe, walk the network both ways; a valve (附属物 阀门
FM or 阀门井 FMJ) stops the walk and is to be closed, unless it is listed in ``failed_valves``
(it will not close, so the walk goes on past it). The pipes walked are ``isolated``. With those
valves closed, pipes that a source fed before and none feeds now are ``cut_off``. Buildings and
city components within ``buffer_m`` (default 30 m, setting ``isolation_buffer_m``) of the
isolated and cut-off pipes are affected.
"""

from __future__ import annotations

from analysis.contract import JSON, ProcessContext, ProcessDefinition
from analysis.features import by_fid, collection, near_pipes
from analysis.inputs import instant, number
from analysis.network.categories import layer, resolve_category
from analysis.network.trace import default_sources, isolate
from analysis.processes.common import (
    CATEGORY_INPUT,
    DATETIME_INPUT,
    REF_SCHEMA,
    category_reads,
    length_m,
    network,
    node_fids,
    output,
    point_refs,
    segment_fids,
    segment_start,
)

BUILDINGS, COMPONENTS = "buildings", "city_components"
DEFAULT_BUFFER_M = 30.0
NO_VALVE = "no valve bounds the break: closing valves cannot isolate it; the whole connected network is returned"
_REF_LIST = {"type": "array", "items": REF_SCHEMA}


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """Isolate the break; see the module docstring."""
    cat = resolve_category(inputs.get("category"))
    at = instant(inputs)
    default_buffer = float(ctx.settings.get("isolation_buffer_m", DEFAULT_BUFFER_M))
    buffer_m = number(inputs, "buffer_m", default=default_buffer, maximum=1000.0)
    assert buffer_m is not None
    net = await network(ctx, cat, at)
    start = await segment_start(ctx, net, cat, inputs.get("break"), "break", at, points_allowed=False)
    assert start.segment is not None
    failed = point_refs(net, cat, inputs.get("failed_valves"), "failed_valves") or set()
    given = point_refs(net, cat, inputs.get("sources"), "sources")
    sources = given if given is not None else default_sources(net)
    result = isolate(net, start.segment, failed=failed, sources=sources)
    await ctx.progress(40, "isolated")
    pipes = segment_fids(net, result.isolated | result.cut_off)
    async with ctx.pool.acquire() as conn:
        valves = await by_fid(conn, cat.points, node_fids(net, result.valves), at)
        failed_out = await by_fid(conn, cat.points, node_fids(net, failed), at)
        isolated = await by_fid(conn, cat.segments, segment_fids(net, result.isolated), at)
        cut_off = await by_fid(conn, cat.segments, segment_fids(net, result.cut_off), at)
        buildings = (await near_pipes(conn, layer(BUILDINGS), cat.segments, pipes, buffer_m, at)
                     if ctx.readable(BUILDINGS) else [])
        components = (await near_pipes(conn, layer(COMPONENTS), cat.segments, pipes, buffer_m, at)
                      if ctx.readable(COMPONENTS) else [])
    summary: JSON = {
        "category": cat.key, "break": int(net.seg_fid[start.segment]), "break_segment_no": net.seg_no[start.segment],
        "bounded": result.bounded, "valves": len(valves), "failed_valves": len(failed_out),
        "isolated_segments": len(isolated), "isolated_length_m": length_m(net, result.isolated),
        "cut_off_segments": len(cut_off), "cut_off_length_m": length_m(net, result.cut_off),
        "sources": len(sources), "affected_buildings": len(buildings), "affected_components": len(components),
        "buffer_m": buffer_m, "datetime": inputs.get("datetime"),
        "buildings_readable": ctx.readable(BUILDINGS), "components_readable": ctx.readable(COMPONENTS),
    }
    if not result.bounded:
        summary["message"] = NO_VALVE
    if not sources:
        summary["note"] = "no source known (none flagged is_source, none given): cut_off is empty"
    return {"valves": collection(valves), "isolated": collection(isolated), "cut_off": collection(cut_off),
            "affected_buildings": collection(buildings), "affected_components": collection(components),
            "failed_valves": collection(failed_out), "summary": summary}


PROCESS = ProcessDefinition(
    id="valve-isolation",
    title="Valve isolation (burst analysis)",
    title_zh="关阀分析（爆管分析）",
    description=(__doc__ or "").split("\n\n", 1)[1].replace("\n", " ").strip() + " If no valve bounds the break, the "
    "summary says so and `isolated` is the whole connected network.",
    description_zh="爆管后需关闭的阀门、被隔离的管段、因关阀而失去水源的管段（cut_off），"
                   "以及受影响的建筑与部件（默认 30 m 内）。失效阀门（failed_valves）不能关闭，搜索越过它继续。",
    version="1.0.0",
    keywords=["关阀分析", "爆管分析", "mincut", "valve isolation"],
    inputs={
        "category": CATEGORY_INPUT,
        "break": {"title": "爆管位置 / Break", "description": "The broken segment: feature id, segment_no, or a "
                  "GeoJSON Point in CRS84 snapped to the nearest segment within 50 m.",
                  "schema": REF_SCHEMA, "minOccurs": 1, "maxOccurs": 1},
        "sources": {"title": "水源 / Sources", "description": "Points feeding the network (id, point_no or CRS84 "
                    "Point); default: the points flagged is_source.", "schema": _REF_LIST,
                    "minOccurs": 0, "maxOccurs": 1},
        "failed_valves": {"title": "失效阀门 / Failed valves", "description": "Valves that will not close; the "
                          "search goes on past them.", "schema": _REF_LIST, "minOccurs": 0, "maxOccurs": 1},
        "buffer_m": {"title": "影响范围 / Buffer (m)", "description": "Buildings and components this close to an "
                     "isolated or cut-off pipe are affected (default 30 m).",
                     "schema": {"type": "number", "minimum": 0, "maximum": 1000, "default": 30},
                     "minOccurs": 0, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
    },
    outputs={
        "valves": output("需关闭阀门 / Valves to close", "Valve points with their layer properties."),
        "isolated": output("隔离管段 / Isolated", "Segments reachable from the break without passing a closed valve."),
        "cut_off": output("停水管段 / Cut off", "Segments outside the isolated zone that lose every path to a source."),
        "affected_buildings": output("受影响建筑 / Affected buildings", "Buildings within buffer_m (if readable)."),
        "affected_components": output("受影响部件 / Affected components", "City components within buffer_m."),
        "failed_valves": output("失效阀门 / Failed valves", "The valves given as failed."),
        "summary": output("摘要 / Summary", "Counts, lengths (m), and a message when no valve bounds the break.",
                          {"type": "object"}),
    },
    reads=category_reads,
    run=run,
    examples=[
        {"inputs": {"category": "给水", "break": {"type": "Point", "coordinates": [112.97021, 28.19553]}}},
        {"inputs": {"category": "water", "break": {"type": "Point", "coordinates": [112.97021, 28.19553]},
                    "buffer_m": 50}},
    ],
)
