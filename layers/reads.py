"""Reading versions back: one feature's state, its history, and simple listings.

The OGC API builds its own paged, filtered SQL on :mod:`layers.temporal`; these
functions are the plain reads the write path, importers and tests rely on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import asyncpg

from layers.errors import FeatureNotFound
from layers.features import FeatureRow, select_list, to_feature
from layers.model import Layer
from layers.registry import Registry
from layers.sql import Params
from layers.temporal import AsOf, Current, Selection, predicate
from spatial.crs import STORAGE_SRID

FeatureState = Literal["current", "retired", "missing"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """A feature looked up by id: its state and the version that answers the question."""

    state: FeatureState
    row: FeatureRow | None
    latest: FeatureRow | None


async def get_feature(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, at: dt.datetime | None = None
) -> Lookup:
    """The feature as current (``at`` None) or as of valid instant ``at``.

    ``state`` says whether the feature exists at all and whether it is retired,
    so the API can tell 404 from 410.
    """
    latest_row = await conn.fetchrow(
        f"SELECT {select_list(layer)} FROM {layer.table} WHERE fid = $1 ORDER BY version DESC LIMIT 1",  # noqa: S608
        fid,
    )
    if latest_row is None:
        return Lookup("missing", None, None)
    latest = to_feature(layer, latest_row)
    state: FeatureState = "current" if latest.valid_to is None else "retired"
    if at is None:
        return Lookup(state, latest if state == "current" else None, latest)
    params = Params()
    params.add(fid)
    where = predicate(AsOf(at), params)
    row = await conn.fetchrow(
        f"SELECT {select_list(layer)} FROM {layer.table} WHERE fid = $1 AND {where}",  # noqa: S608
        *params.values,
    )
    return Lookup(state, to_feature(layer, row) if row else None, latest)


async def history(conn: asyncpg.Connection, *, layer: Layer, fid: int) -> list[FeatureRow]:
    """Every version of a feature, oldest first."""
    rows = await conn.fetch(
        f"SELECT {select_list(layer)} FROM {layer.table} WHERE fid = $1 ORDER BY version",  # noqa: S608
        fid,
    )
    if not rows:
        raise FeatureNotFound(f"feature {fid} does not exist in {layer.id}")
    return [to_feature(layer, r) for r in rows]


async def list_features(
    conn: asyncpg.Connection,
    *,
    layer: Layer,
    selection: Selection | None = None,
    bbox_4490: tuple[float, float, float, float] | None = None,
    after_fid: int | None = None,
    limit: int | None = None,
) -> list[FeatureRow]:
    """Versions matching a temporal selection and bbox (EPSG:4490 lon/lat), ordered by fid, version."""
    params = Params()
    clauses = [predicate(selection or Current(), params)]
    if bbox_4490 is not None:
        xmin, ymin, xmax, ymax = (params.add(v, "float8") for v in bbox_4490)
        clauses.append(f"geom && ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, {STORAGE_SRID})")
    if after_fid is not None:
        clauses.append(f"fid > {params.add(after_fid, 'bigint')}")
    sql = f"SELECT {select_list(layer)} FROM {layer.table} WHERE {' AND '.join(clauses)} ORDER BY fid, version"  # noqa: S608
    if limit is not None:
        sql += f" LIMIT {params.add(limit, 'bigint')}"
    rows = await conn.fetch(sql, *params.values)
    return [to_feature(layer, r) for r in rows]


async def count_features(conn: asyncpg.Connection, *, layer: Layer, selection: Selection | None = None) -> int:
    """How many versions of ``layer`` the selection picks (default: current features)."""
    params = Params()
    where = predicate(selection or Current(), params)
    count: int = await conn.fetchval(f"SELECT count(*) FROM {layer.table} WHERE {where}", *params.values)  # noqa: S608
    return count


@dataclass(frozen=True, slots=True)
class LayerCount:
    """How much a registered layer holds; counts are None for raster layers, which have no rows."""

    layer_id: str
    kind: str
    current: int | None
    versions: int | None


async def layer_counts(conn: asyncpg.Connection) -> list[LayerCount]:
    """Every registered layer in registry order (group, id), with its current features and stored versions."""
    out: list[LayerCount] = []
    for layer in (await Registry.load(conn)).all():
        if not layer.is_vector:
            out.append(LayerCount(layer.id, layer.kind, None, None))
            continue
        row = await conn.fetchrow(
            f"SELECT count(*) FILTER (WHERE valid_to IS NULL) AS current, count(*) AS versions FROM {layer.table}"  # noqa: S608
        )
        out.append(LayerCount(layer.id, layer.kind, row["current"], row["versions"]))
    return out
