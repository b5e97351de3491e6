"""``clearance-check`` (净距分析): an existing or proposed pipe against GB 50289's clearance tables.

The tables live in ``analysis/clearance_rules.yaml`` with their confidence tag (GK: not yet
checked against the printed standard); see :mod:`analysis.clearance` for how each check
measures. Pipes of the same category joined to the subject at its ends are its own network
and are not checked against it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from analysis.clearance import Finding, between_pipes, rules, to_building
from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.features import by_fid, collection, key_fid, near_geometry
from analysis.inputs import METRIC_SRID, geometry, instant, number, to_metric
from analysis.network.categories import CategoryLayers, all_categories, layer, resolve_category
from analysis.pipes import Pipe, pipes_near
from analysis.processes.common import DATETIME_INPUT, REF_SCHEMA, output
from spatial.crs import crs_ref, transform_xy

SEARCH_M = 15.0  # beyond the widest rule (13.5 m) plus pipe widths
BUILDINGS = "buildings"
_SIZE = re.compile(r"^(?:DN)?(\d{2,4})$|^(\d{2,5})[×xX*](\d{2,5})$", re.IGNORECASE)


def reads(inputs: JSON) -> list[str]:
    """The subject's category when an existing segment is named; others are read if readable."""
    if inputs.get("segment") is not None and inputs.get("category") is not None:
        cat = resolve_category(inputs.get("category"))
        return [cat.segments.id]
    if inputs.get("segment") is None and inputs.get("proposed") is None:
        raise InvalidInput("segment", "give segment (an existing pipe) or proposed (a planned one)")
    return []


def _proposed(value: Any) -> tuple[Pipe, BaseGeometry]:
    if not isinstance(value, dict):
        raise InvalidInput("proposed", "give an object with geometry, category, diameter_mm or size, and depth_m")
    props = value.get("properties", {}) if value.get("type") == "Feature" else value
    geom = geometry(value.get("geometry"), "proposed", ("LineString",))
    cat = resolve_category(props.get("category"), input_name="proposed")
    depth = number(props, "depth_m", maximum=30.0)
    if depth is None:
        raise InvalidInput("proposed", "depth_m is required (metres; to the top, or the invert for 雨水/污水)")
    row: dict[str, Any] = {"start_depth_m": depth, "end_depth_m": depth, "burial": props.get("burial"),
                           "pressure_class": props.get("pressure_class"), "segment_no": "(规划)"}
    size = props.get("size")
    if props.get("diameter_mm") is not None:
        row["diameter_mm"] = number(props, "diameter_mm", minimum=10, maximum=5000)
    elif isinstance(size, str) and (m := _SIZE.match(size.strip())):
        row["diameter_mm"], row["section"] = (int(m.group(1)), None) if m.group(1) else (None, size.strip())
    else:
        raise InvalidInput("proposed", "give diameter_mm (e.g. 300) or size (DN300, or 宽×高 such as 1000×800)")
    return Pipe(cat, -1, row, to_metric(geom)), geom


async def _existing(ctx: ProcessContext, inputs: JSON, at: dt.datetime | None) -> tuple[Pipe, BaseGeometry]:
    value = inputs["segment"]
    cats = [resolve_category(inputs["category"])] if inputs.get("category") is not None else all_categories()
    async with ctx.pool.acquire() as conn:
        for cat in cats:
            if not ctx.readable(cat.segments.id):
                continue
            fid = await _fid(conn, cat, value, at)
            if fid is None:
                continue
            feat = (await by_fid(conn, cat.segments, [fid], at))[0]
            geom = shape(feat["geometry"])
            pipe = next(p for p in await pipes_near(conn, [cat], geom, 0.0, at) if p.fid == fid)
            return pipe, geom
    raise InvalidInput("segment", f"no pipe segment {value!r} as of the requested time (give category with a "
                                  "segment_no)")


async def _fid(conn: Any, cat: CategoryLayers, value: Any, at: dt.datetime | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if await by_fid(conn, cat.segments, [value], at) else None
    if isinstance(value, str):
        return await key_fid(conn, cat.segments, "segment_no", value.strip(), at)
    raise InvalidInput("segment", "give a feature id or a segment_no")


def _joined(subject: Pipe, other: Pipe) -> bool:
    if other.cat.key != subject.cat.key:
        return False
    numbers = {subject.row.get("start_point"), subject.row.get("end_point")} - {None}
    if numbers & {other.row.get("start_point"), other.row.get("end_point")}:
        return True
    ends = [Point(subject.line.coords[0]), Point(subject.line.coords[-1])]
    return any(other.line.distance(e) < 0.1 for e in ends)


def _lonlat(pt: Point) -> list[float]:
    lon, lat = transform_xy([pt.x], [pt.y], src=crs_ref(METRIC_SRID))
    return [round(float(lon[0]), 8), round(float(lat[0]), 8)]


def _props(f: Finding, other_kind: str) -> dict[str, Any]:
    return {"check": f.kind if other_kind == "pipe" else "building", "clause": f.rule.clause,
            "confidence": rules().confidence, "required_m": f.rule.min_m, "actual_m": f.actual_m,
            "at": _lonlat(f.at)}


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """Check the subject against nearby pipes and buildings."""
    reads(inputs)
    at = instant(inputs)
    if inputs.get("segment") is not None:
        subject, geom_4490 = await _existing(ctx, inputs, at)
    else:
        subject, geom_4490 = _proposed(inputs.get("proposed"))
    cats = [c for c in all_categories() if ctx.readable(c.segments.id)]
    async with ctx.pool.acquire() as conn:
        others = [o for o in await pipes_near(conn, cats, geom_4490, SEARCH_M, at)
                  if not (o.cat.key == subject.cat.key and o.fid == subject.fid) and not _joined(subject, o)]
        pipe_hits: dict[str, dict[int, dict[str, Any]]] = {}
        checked, unchecked = 0, 0
        for o in others:
            found = between_pipes(subject, o)
            if found is None:
                unchecked += 1
                continue
            checked += 1
            if found.violated:
                pipe_hits.setdefault(o.cat.segments.id, {})[o.fid] = _props(found, "pipe")
        violations: list[JSON] = []
        for cat in cats:
            if cat.segments.id in pipe_hits:
                hits = pipe_hits[cat.segments.id]
                violations += await by_fid(conn, cat.segments, hits, at, hits)
        buildings = 0
        if ctx.readable(BUILDINGS):
            for feat, wkb in await near_geometry(conn, layer(BUILDINGS), shapely.to_wkb(geom_4490), SEARCH_M, at):
                found = to_building(subject, shapely.from_wkb(wkb))
                buildings += 1
                if found is not None and found.violated:
                    violations.append({**feat, "properties": {**feat["properties"], **_props(found, "building")}})
    table = rules()
    summary = {"subject": {"category": subject.cat.key, "fid": subject.fid if subject.fid >= 0 else None,
                           "segment_no": subject.row.get("segment_no"), "size": subject.size},
               "pipes_checked": checked, "pipes_without_rule": unchecked, "buildings_checked": buildings,
               "violations": len(violations), "rules": table.source, "confidence": table.confidence,
               "datetime": inputs.get("datetime")}
    return {"violations": collection(violations), "summary": summary}


PROCESS = ProcessDefinition(
    id="clearance-check",
    title="Clearance check (GB 50289)",
    title_zh="净距分析",
    description=(
        "Checks an existing segment, or a proposed pipe (LineString with category, diameter_mm or size, depth_m), "
        "against GB 50289-2016's minimum clearances: horizontal to other pipes and to buildings, vertical where "
        "pipes cross. The rule table is data (analysis/clearance_rules.yaml) tagged GK: transcribed, not yet "
        "checked against the printed standard. Each violation names the other feature, the clause, and the "
        "required and actual distance in metres."
    ),
    description_zh="按 GB 50289-2016 最小水平净距与垂直净距检查现状或规划管线与周边管线、建筑物的净距；"
                   "规则表以数据保存并标注可信度（GK：未经标准原文核对）。",
    version="1.0.0",
    keywords=["净距分析", "GB 50289", "clearance", "碰撞"],
    inputs={
        "segment": {"title": "现状管段 / Existing segment", "description": "Feature id, or segment_no with "
                    "category.", "schema": REF_SCHEMA, "minOccurs": 0, "maxOccurs": 1},
        "category": {"title": "管线类别 / Category", "description": "The category of segment (needed with a "
                     "segment_no).", "schema": {"type": "string"}, "minOccurs": 0, "maxOccurs": 1},
        "proposed": {"title": "规划管线 / Proposed pipe", "description": "Object (or GeoJSON Feature) with geometry "
                     "(LineString, CRS84), category, diameter_mm or size, depth_m (top; invert for 雨水/污水), and "
                     "optionally burial and pressure_class.", "schema": {"type": "object"},
                     "minOccurs": 0, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
    },
    outputs={
        "violations": output("净距不足 / Violations", "The other features (pipes, buildings) with their layer "
                             "properties plus check, clause, confidence, required_m, actual_m and at (CRS84)."),
        "summary": output("摘要 / Summary", "Counts, the subject, and the rule table's source and confidence.",
                          {"type": "object"}),
    },
    reads=reads,
    run=run,
    examples=[
        {"inputs": {"proposed": {"geometry": {"type": "LineString", "coordinates": [[112.9695, 28.19553],
                                                                                 [112.9705, 28.19553]]},
                                 "category": "燃气", "diameter_mm": 200, "depth_m": 1.0, "pressure_class": "ZA"}}},
    ],
)
