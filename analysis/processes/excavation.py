"""``excavation-impact`` (开挖分析): which pipes a dig of a given depth reaches, whose they are, and
which components and buildings stand in the area.

A pipe is in the way when its top, anywhere inside the area, is shallower than the dig depth
plus the safety margin (setting ``excavation_margin_m``, default 0.5 m). Every category the
caller may read is searched; unreadable layers are left out and listed in the summary.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.features import by_fid, collection, in_area
from analysis.inputs import geometry, instant, number, to_metric
from analysis.network.categories import all_categories, layer
from analysis.pipes import finite, pipes_near
from analysis.processes.common import DATETIME_INPUT, output

DEFAULT_MARGIN_M = 0.5
BUILDINGS, COMPONENTS = "buildings", "city_components"
MAX_AREA_M2 = 4_000_000.0  # 2 km × 2 km: a dig, not a district


def reads(inputs: JSON) -> list[str]:
    """Nothing is required: each pipeline layer, buildings and components are read if readable."""
    geometry(inputs.get("area"), "area", ("Polygon",))
    return []


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """Pipes in the way of the dig, components and buildings in the area, owners to notify."""
    area = geometry(inputs.get("area"), "area", ("Polygon",))
    depth = number(inputs, "depth_m", maximum=50.0)
    if depth is None:
        raise InvalidInput("depth_m", "required: the dig depth in metres")
    at = instant(inputs)
    margin = float(ctx.settings.get("excavation_margin_m", DEFAULT_MARGIN_M))
    area_m = to_metric(area)
    if area_m.area > MAX_AREA_M2:
        raise InvalidInput("area", f"{area_m.area / 1e6:.1f} km² is larger than the 4 km² an excavation check covers")
    cats = [c for c in all_categories() if ctx.readable(c.segments.id)]
    async with ctx.pool.acquire() as conn:
        pipes = await pipes_near(conn, cats, area, 0.0, at)
        hits: dict[str, dict[int, dict[str, object]]] = defaultdict(dict)
        for pipe in pipes:
            top = pipe.min_top_depth_within(area_m)
            if top is not None and top < depth + margin:
                hits[pipe.cat.segments.id][pipe.fid] = {
                    "pipe_category": pipe.cat.key, "pipe_category_zh": pipe.cat.category.zh,
                    "top_depth_m": finite(top), "margin_to_dig_m": finite(top - depth)}
        features: list[JSON] = []
        for cat in cats:
            if hits.get(cat.segments.id):
                features += await by_fid(conn, cat.segments, hits[cat.segments.id], at, hits[cat.segments.id])
        buildings = await in_area(conn, layer(BUILDINGS), _wkb(area), at) if ctx.readable(BUILDINGS) else []
        components = await in_area(conn, layer(COMPONENTS), _wkb(area), at) if ctx.readable(COMPONENTS) else []
    owners = _owners(features)
    summary = {"depth_m": depth, "margin_m": margin, "area_m2": round(area_m.area, 1), "pipes": len(features),
               "pipes_in_area": len(pipes), "owners": len(owners), "buildings": len(buildings),
               "components": len(components), "datetime": inputs.get("datetime"),
               "unreadable_layers": [c.segments.id for c in all_categories() if c not in cats]
               + [x for x in (BUILDINGS, COMPONENTS) if not ctx.readable(x)]}
    return {"pipes": collection(features), "components": collection(components), "buildings": collection(buildings),
            "owners": owners, "owners_csv": _csv(owners), "summary": summary}


def _wkb(geom: BaseGeometry) -> bytes:
    return bytes(shapely.to_wkb(geom, output_dimension=2))


@dataclass
class _Owner:
    owner: str
    categories: list[str] = field(default_factory=list)
    segment_nos: list[str] = field(default_factory=list)


def _owners(features: list[JSON]) -> list[JSON]:
    by_owner: dict[str, _Owner] = {}
    for f in features:
        p = f["properties"]
        name = p.get("owner") or "（未登记权属单位）"
        entry = by_owner.setdefault(name, _Owner(name))
        if p["pipe_category_zh"] not in entry.categories:
            entry.categories.append(p["pipe_category_zh"])
        entry.segment_nos.append(p["segment_no"])
    return [{"owner": o.owner, "categories": o.categories, "pipes": len(o.segment_nos), "segment_nos": o.segment_nos}
            for o in sorted(by_owner.values(), key=lambda e: e.owner)]


def _csv(owners: list[JSON]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["权属单位", "管线类别", "管段数", "管段编号"])
    for o in owners:
        w.writerow([o["owner"], "、".join(o["categories"]), o["pipes"], " ".join(o["segment_nos"])])
    return buf.getvalue()


PROCESS = ProcessDefinition(
    id="excavation-impact",
    title="Excavation impact",
    title_zh="开挖分析",
    description=(
        "Pipes of every readable category whose top, inside the area, is shallower than the dig depth plus "
        "the safety margin (setting, default 0.5 m), with their owners (权属单位); city components and "
        "buildings inside the area; and the owners to notify, as a list and as CSV."
    ),
    description_zh="给定开挖范围与深度，列出管顶埋深小于开挖深度加安全余量（默认 0.5 m）的管线及其权属单位，"
                   "以及范围内的城市部件与建筑；权属单位清单另附 CSV。",
    version="1.0.0",
    keywords=["开挖分析", "excavation", "权属单位"],
    inputs={
        "area": {"title": "开挖范围 / Area", "description": "A GeoJSON Polygon in CRS84 (at most 4 km²).",
                 "schema": {"type": "object", "contentMediaType": "application/geo+json",
                            "properties": {"type": {"const": "Polygon"}}},
                 "minOccurs": 1, "maxOccurs": 1},
        "depth_m": {"title": "开挖深度 / Dig depth (m)", "schema": {"type": "number", "minimum": 0, "maximum": 50},
                    "description": "How deep the dig goes, in metres below ground.", "minOccurs": 1, "maxOccurs": 1},
        "datetime": DATETIME_INPUT,
    },
    outputs={
        "pipes": output("受影响管线 / Pipes in the way", "Segments with their layer properties plus pipe_category, "
                        "top_depth_m (shallowest inside the area) and margin_to_dig_m."),
        "components": output("范围内部件 / Components", "City components inside the area (if readable)."),
        "buildings": output("范围内建筑 / Buildings", "Buildings inside the area (if readable)."),
        "owners": output("权属单位 / Owners", "Owners to notify, with categories and segment numbers.",
                         {"type": "array", "items": {"type": "object"}}),
        "owners_csv": output("权属单位 CSV / Owners as CSV", "The owners list as CSV text (UTF-8).",
                             {"type": "string", "contentMediaType": "text/csv"}),
        "summary": output("摘要 / Summary", "Counts, the margin used, and layers left out.", {"type": "object"}),
    },
    reads=reads,
    run=run,
    examples=[{"inputs": {"area": {"type": "Polygon", "coordinates": [[
        [112.9696, 28.1950], [112.9704, 28.1950], [112.9704, 28.1960], [112.9696, 28.1960], [112.9696, 28.1950]]]},
        "depth_m": 2.5}}],
)
