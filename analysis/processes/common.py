"""What the network processes share: feature references, input descriptions, the network lookup.

A feature reference (an input that names a pipe or a point) is any of:

* a feature id, as in ``/collections/{id}/items/{fid}`` (an integer, or its digits as a string);
* a key: the segment's ``segment_no`` or the point's 物探点号 ``point_no``;
* a GeoJSON Point in CRS84, snapped to the nearest segment within 50 m (for segment inputs),
  or to the nearest point within 50 m (for point inputs such as ``sources``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from analysis.contract import JSON, InvalidInput, ProcessContext
from analysis.features import nearest_segment
from analysis.inputs import geometry, to_metric
from analysis.network.cache import NETWORKS
from analysis.network.categories import CategoryLayers, resolve_category
from analysis.network.model import PipeNetwork
from analysis.network.trace import Start

SNAP_DISTANCE_M = 50.0
REF_SCHEMA: JSON = {"oneOf": [
    {"type": "integer", "description": "feature id (fid)"},
    {"type": "string", "description": "segment_no / point_no (物探点号), or a feature id"},
    {"type": "object", "description": "GeoJSON Point in CRS84, snapped within 50 m",
     "properties": {"type": {"const": "Point"}, "coordinates": {"type": "array", "items": {"type": "number"}}},
     "required": ["type", "coordinates"]},
]}
CATEGORY_INPUT: JSON = {
    "title": "管线类别 / Pipeline category",
    "description": "A platform key (water, sewage, storm, gas, power, streetlight, signal, telecom, cabletv), "
                   "its Chinese name (给水 …) or its CJJ 61 code (JS, PS/WS, PS/YS, RQ, DL/GD …).",
    "schema": {"type": "string"}, "minOccurs": 1, "maxOccurs": 1,
}
DATETIME_INPUT: JSON = {
    "title": "时点 / As of",
    "description": "Valid instant (RFC 3339) the network is taken at; default now.",
    "schema": {"type": "string", "format": "date-time"}, "minOccurs": 0, "maxOccurs": 1,
}
FC_SCHEMA: JSON = {"type": "object", "contentMediaType": "application/geo+json",
                   "$ref": "https://geojson.org/schema/FeatureCollection.json"}


def category_reads(inputs: JSON) -> list[str]:
    """``reads`` of a process over one network: the named category's segments and points layers."""
    cat = resolve_category(inputs.get("category"))
    return [cat.segments.id, cat.points.id]


def output(title: str, description: str, schema: JSON | None = None) -> JSON:
    """An output description."""
    return {"title": title, "description": description, "schema": schema or FC_SCHEMA}


async def network(ctx: ProcessContext, cat: CategoryLayers, at: dt.datetime | None) -> PipeNetwork:
    """The category's graph as of ``at``, from the process-wide cache (checked exact)."""
    return await NETWORKS.get(ctx.pool, cat, at)


def _as_fid(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


async def segment_start(
    ctx: ProcessContext, net: PipeNetwork, cat: CategoryLayers, value: Any, name: str, at: dt.datetime | None,
    *, points_allowed: bool = True,
) -> Start:
    """A trace start: a segment (id, ``segment_no`` or a snapped CRS84 Point) or, if allowed, a point."""
    if value is None:
        raise InvalidInput(name, "required: a feature id, a segment_no/point_no, or a GeoJSON Point")
    if isinstance(value, dict):
        point = geometry(value, name, ("Point",))
        async with ctx.pool.acquire() as conn:
            found = await nearest_segment(conn, cat.segments, point.x, point.y, at)
        if found is None or found[1] > SNAP_DISTANCE_M or found[0] not in net.seg_by_fid:
            where = "no pipe at all" if found is None else f"the nearest pipe is {found[1]:,.0f} m away"
            raise InvalidInput(name, f"no {cat.category.zh} pipe within {SNAP_DISTANCE_M:g} m of the point ({where})")
        return Start(segment=net.seg_by_fid[found[0]])
    if isinstance(value, str) and value.strip() in net.seg_by_no:
        return Start(segment=net.seg_by_no[value.strip()])
    if points_allowed and isinstance(value, str) and value.strip() in net.node_by_no:
        return Start(node=net.node_by_no[value.strip()])
    fid = _as_fid(value)
    if fid is not None and fid in net.seg_by_fid:
        return Start(segment=net.seg_by_fid[fid])
    if points_allowed and fid is not None and fid in net.node_by_fid:
        return Start(node=net.node_by_fid[fid])
    what = "segment or point" if points_allowed else "segment"
    raise InvalidInput(name, f"no {cat.category.zh} {what} {value!r} (as of the requested time): "
                             "give a feature id, a segment_no/point_no, or a GeoJSON Point")


def point_ref(net: PipeNetwork, cat: CategoryLayers, value: Any, name: str) -> int:
    """A node of the network named by id, ``point_no`` or a CRS84 Point (nearest point within 50 m)."""
    if isinstance(value, dict):
        pt = to_metric(geometry(value, name, ("Point",)))
        real = np.nonzero(net.node_fid >= 0)[0]
        if len(real):
            d = np.hypot(net.node_xy[real, 0] - pt.x, net.node_xy[real, 1] - pt.y)
            best = int(np.argmin(d))
            if d[best] <= SNAP_DISTANCE_M:
                return int(real[best])
        raise InvalidInput(name, f"no {cat.category.zh} point within {SNAP_DISTANCE_M:g} m of the point")
    if isinstance(value, str) and value.strip() in net.node_by_no:
        return net.node_by_no[value.strip()]
    fid = _as_fid(value)
    if fid is not None and fid in net.node_by_fid:
        return net.node_by_fid[fid]
    raise InvalidInput(name, f"no {cat.category.zh} point {value!r}: give a feature id, a point_no or a GeoJSON Point")


def point_refs(net: PipeNetwork, cat: CategoryLayers, value: Any, name: str) -> set[int] | None:
    """A list of point references (None when the input is absent)."""
    if value is None:
        return None
    if not isinstance(value, list):
        value = [value]
    return {point_ref(net, cat, v, name) for v in value}


def node_fids(net: PipeNetwork, nodes: set[int]) -> set[int]:
    """Feature ids of real points among ``nodes`` (virtual nodes have none)."""
    return {int(net.node_fid[n]) for n in nodes if net.node_fid[n] >= 0}


def segment_fids(net: PipeNetwork, segments: set[int]) -> set[int]:
    """Feature ids of ``segments``."""
    return {int(net.seg_fid[s]) for s in segments}


def length_m(net: PipeNetwork, segments: set[int]) -> float:
    """Total length of ``segments`` in metres (EPSG:4547), to the centimetre."""
    return round(float(net.seg_length_m[list(segments)].sum()), 2) if segments else 0.0
