"""Reading whole features for process outputs: by id, near pipes, inside an area, nearest a point.

Outputs are GeoJSON FeatureCollections whose features carry their id (``id``, as in
``/items/{fid}``), the layer (``collection``, a foreign member) and every property of the
layer, so callers can join them back. Geometry is EPSG:4490 lon/lat, which GeoJSON readers
take as CRS84 (the two differ by centimetres).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources
from typing import Any

import asyncpg

from analysis.contract import JSON
from layers.features import select_list, to_feature
from layers.model import Layer
from layers.sql import Params, quote_ident
from layers.temporal import AsOf, Current, Selection, predicate

# A degree of longitude at 28.7°N (Changsha's north edge) is 97.7 km; a degree of latitude
# 110.8 km. Dividing metres by this gives a box margin never smaller than the distance.
METRES_PER_DEGREE_MIN = 90_000.0


@cache
def statement(name: str) -> str:
    """An SQL file of ``analysis/sql`` without its comment lines."""
    text = resources.files("analysis").joinpath("sql", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def selection_at(at: dt.datetime | None) -> Selection:
    """Current state for None, else the versions valid at ``at``."""
    return Current() if at is None else AsOf(at)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def feature(layer: Layer, row: asyncpg.Record, extra: Mapping[str, Any] | None = None) -> JSON:
    """One GeoJSON Feature with id, collection, version and every property of ``layer``."""
    f = to_feature(layer, row)
    props = {k: _plain(v) for k, v in f.properties.items()}
    if extra:
        props.update(extra)
    return {"type": "Feature", "id": f.fid, "collection": layer.id, "version": f.version,
            "geometry": f.geometry, "properties": props}


def collection(features: list[JSON]) -> JSON:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


async def by_fid(
    conn: asyncpg.Connection, layer: Layer, fids: Collection[int], at: dt.datetime | None,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[JSON]:
    """Features of ``layer`` with these ids as of ``at``, ordered by id."""
    if not fids:
        return []
    params = Params()
    sql = statement("by_fid.sql").format(columns=select_list(layer), table=layer.table,
                                         fids=params.add(sorted(fids), "bigint[]"),
                                         selection=predicate(selection_at(at), params))
    rows = await conn.fetch(sql, *params.values)
    return [feature(layer, r, (extra or {}).get(r["fid"])) for r in rows]


async def near_pipes(
    conn: asyncpg.Connection, layer: Layer, pipes: Layer, fids: Collection[int], distance_m: float,
    at: dt.datetime | None,
) -> list[JSON]:
    """Features of ``layer`` within ``distance_m`` metres (EPSG:4547) of the pipes ``fids``."""
    if not fids:
        return []
    params = Params()
    sel = selection_at(at)
    sql = statement("near_pipes.sql").format(
        pipes=pipes.table, fids=params.add(sorted(fids), "bigint[]"), pipe_selection=predicate(sel, params),
        columns=select_list(layer, alias="t"), table=layer.table, selection=predicate(sel, params, alias="t"),
        degrees=params.add(distance_m / METRES_PER_DEGREE_MIN, "float8"), distance=params.add(distance_m, "float8"))
    return [feature(layer, r) for r in await conn.fetch(sql, *params.values)]


async def in_area(conn: asyncpg.Connection, layer: Layer, area_wkb_4490: bytes, at: dt.datetime | None) -> list[JSON]:
    """Features of ``layer`` intersecting an area given as EPSG:4490 WKB."""
    params = Params()
    sql = statement("in_area.sql").format(columns=select_list(layer, alias="t"), table=layer.table,
                                          selection=predicate(selection_at(at), params, alias="t"),
                                          area=params.add(area_wkb_4490, "bytea"))
    return [feature(layer, r) for r in await conn.fetch(sql, *params.values)]


async def near_geometry(
    conn: asyncpg.Connection, layer: Layer, geom_wkb_4490: bytes, distance_m: float, at: dt.datetime | None,
) -> list[tuple[JSON, bytes]]:
    """(feature, EPSG:4547 WKB) of ``layer`` within ``distance_m`` metres of a geometry given as EPSG:4490 WKB."""
    params = Params()
    sql = statement("near_geometry.sql").format(
        columns=select_list(layer, alias="t"), table=layer.table,
        selection=predicate(selection_at(at), params, alias="t"), area=params.add(geom_wkb_4490, "bytea"),
        degrees=params.add(distance_m / METRES_PER_DEGREE_MIN, "float8"),
        distance=params.add(distance_m, "float8"))
    return [(feature(layer, r), bytes(r["wkb_4547"])) for r in await conn.fetch(sql, *params.values)]


async def key_fid(
    conn: asyncpg.Connection, layer: Layer, column: str, value: str, at: dt.datetime | None,
) -> int | None:
    """The id of the feature of ``layer`` whose ``column`` (a key field) equals ``value``, as of ``at``."""
    params = Params()
    sql = statement("key_fid.sql").format(table=layer.table, column=quote_ident(column),
                                          value=params.add(value, "text"),
                                          selection=predicate(selection_at(at), params))
    fid = await conn.fetchval(sql, *params.values)
    return None if fid is None else int(fid)


async def nearest_segment(
    conn: asyncpg.Connection, layer: Layer, lon: float, lat: float, at: dt.datetime | None,
) -> tuple[int, float] | None:
    """(fid, metres) of the segment of ``layer`` nearest CRS84 (lon, lat), or None if the layer is empty."""
    params = Params()
    sql = statement("nearest_segment.sql").format(table=layer.table, selection=predicate(selection_at(at), params),
                                                  lon=params.add(lon, "float8"), lat=params.add(lat, "float8"))
    rows = await conn.fetch(sql, *params.values)
    if not rows:
        return None
    best = min(rows, key=lambda r: r["metres"])
    return int(best["fid"]), float(best["metres"])
