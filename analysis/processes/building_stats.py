"""``building-statistics`` (建筑统计): buildings, footprint and floor area of an area, by use, age and height.

The area is a district, street, community, unit grid cell or drawn polygon (:mod:`analysis.areas`);
one ``datetime`` gives the state as of that instant, two give both states and the growth between
them (later minus earlier: the difference of the two as-of answers). Rules: :mod:`analysis.building_rules`.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import shapely

from analysis.areas import Area, AreaRequest, area_json, parse_area, resolve_area
from analysis.building_export import XLSX_MEDIA, to_csv, to_xlsx_base64
from analysis.building_rules import RULES_EN, RULES_ZH, STOREY_M
from analysis.building_stats import growth, snapshot
from analysis.contract import JSON, InvalidInput, ProcessContext, ProcessDefinition
from analysis.inputs import METRIC_SRID, instant, to_metric
from analysis.network.categories import layer
from analysis.processes.common import output

BUILDINGS = "buildings"
AREA_SCHEMA: JSON = {"oneOf": [
    {"type": "object", "description": "GeoJSON Polygon or MultiPolygon in CRS84",
     "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]}}, "required": ["type", "coordinates"]},
    {"type": "object", "description": "a district by GB/T 2260 code or name (430100 / 长沙市: the whole city)",
     "properties": {"district": {"type": "string"}}, "required": ["district"], "additionalProperties": False},
    {"type": "object", "description": "a street: 9-digit grid code prefix (union of its cells) or a sub-district name",
     "properties": {"street": {"type": "string"}}, "required": ["street"], "additionalProperties": False},
    {"type": "object", "description": "a community: 12-digit grid code prefix (union of its cells)",
     "properties": {"community": {"type": "string"}}, "required": ["community"], "additionalProperties": False},
    {"type": "object", "description": "one unit grid cell: its 14/15-digit CJ/T 213 code",
     "properties": {"grid": {"type": "string"}}, "required": ["grid"], "additionalProperties": False},
]}
STATS_SCHEMA: JSON = {"type": "object", "required": ["area", "rules", "snapshots"]}


def _area_request(inputs: JSON) -> AreaRequest:
    return parse_area(inputs.get("area"))


def _instants(inputs: JSON) -> list[dt.datetime | None]:
    raw = inputs.get("datetime")
    values = raw if isinstance(raw, list) else [raw]
    if len(values) > 2:
        raise InvalidInput("datetime", "give one instant, or two to measure growth")
    found = [instant({"datetime": v}) for v in values]
    if len(found) == 2:
        if None in found:
            raise InvalidInput("datetime", "growth needs two instants (RFC 3339), not 'now'")
        if found[0] == found[1]:
            raise InvalidInput("datetime", "the two instants are the same")
        found.sort(key=lambda t: t or dt.datetime.max.replace(tzinfo=dt.UTC))
    return found


def reads(inputs: JSON) -> list[str]:
    """The buildings layer, and the layer the area is taken from (none for a drawn polygon)."""
    req = _area_request(inputs)
    _instants(inputs)
    return [BUILDINGS] + ([req.layer_id] if req.layer_id else [])


async def _snapshot(ctx: ProcessContext, area: Area, at: dt.datetime | None) -> JSON:
    async with ctx.pool.acquire() as conn:
        return await snapshot(conn, layer(BUILDINGS), area.wkb, at)


async def run(ctx: ProcessContext, inputs: JSON) -> JSON:
    """Statistics as JSON, and the same as CSV and XLSX."""
    req = _area_request(inputs)
    instants = _instants(inputs)
    if not ctx.readable(BUILDINGS) or (req.layer_id and not ctx.readable(req.layer_id)):
        raise InvalidInput("area", "the caller may not read the layers this statistic needs")
    async with ctx.pool.acquire() as conn:
        area = await resolve_area(conn, req)
    # The two instants are independent queries: run them side by side on two connections.
    snapshots = list(await asyncio.gather(*(_snapshot(ctx, area, at) for at in instants)))
    stats: JSON = {
        "area": area_json(area, to_metric(shapely.from_wkb(area.wkb)).area),
        "rules": {"zh": RULES_ZH, "en": RULES_EN, "storey_m": STOREY_M, "metric_crs": f"EPSG:{METRIC_SRID}",
                  "membership": "ST_PointOnSurface(footprint) in area"},
        "snapshots": snapshots,
        "growth": growth(snapshots[0], snapshots[1]) if len(snapshots) == 2 else None,
    }
    return {"statistics": stats, "csv": to_csv(stats), "xlsx": to_xlsx_base64(stats)}


PROCESS = ProcessDefinition(
    id="building-statistics",
    title="Building statistics",
    title_zh="建筑统计",
    description=("Buildings of an area (district, street, community, unit grid cell or a drawn polygon) as of an "
                 "instant, or at two instants with the growth between them: building count, footprint area and "
                 "floor area, by use, age band, height class and the floor rule used. " + RULES_EN),
    description_zh="统计范围（区县、街道、社区、单元网格或手绘多边形）内某一时点的建筑数、基底面积与建筑面积，"
                   "按用途、建成年代、高度分类及层数规则分项；给两个时点时另给出增长量（后一时点减前一时点）。"
                   + RULES_ZH,
    version="1.0.0",
    keywords=["建筑统计", "building statistics", "建筑面积", "floor area"],
    inputs={
        "area": {"title": "统计范围 / Area", "schema": AREA_SCHEMA, "minOccurs": 1, "maxOccurs": 1,
                 "description": "A GeoJSON Polygon/MultiPolygon in CRS84, or {\"district\"|\"street\"|\"community\"|"
                                "\"grid\": code or name}. Streets and communities are the union of their unit "
                                "grid cells (CJ/T 213 code prefixes)."},
        "datetime": {"title": "时点 / As of", "schema": {"type": "string", "format": "date-time"},
                     "minOccurs": 0, "maxOccurs": 2,
                     "description": "One valid instant (RFC 3339; default now), or two to measure growth."},
    },
    outputs={
        "statistics": output("统计结果 / Statistics", "Area, rules, one snapshot per instant (totals; by_use, "
                             "by_age, by_height, by_floor_rule) and growth (null for one instant).", STATS_SCHEMA),
        "csv": output("CSV", "The statistics as one long table (UTF-8 with BOM).",
                      {"type": "string", "contentMediaType": "text/csv"}),
        "xlsx": output("XLSX", "The same table and a sheet stating the area and rules (base64 in JSON).",
                       {"type": "string", "contentMediaType": XLSX_MEDIA, "contentEncoding": "base64"}),
    },
    reads=reads,
    run=run,
    examples=[{"inputs": {"area": {"district": "430104"}, "datetime": ["2020-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]},
               "outputs": {"statistics": {}}}],
)
