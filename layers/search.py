"""Find features by name, address or code across layers (the web map's search box).

Searches the registry schema's ``search`` fields of current rows; each has a trigram GIN index
on current rows (:mod:`layers.ddl`), which serves ``ILIKE '%…%'`` for three characters or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from layers.model import Layer
from layers.sql import Params, quote_ident

MAX_QUERY_CHARS = 100


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One feature found. ``bbox`` and ``point`` are EPSG:4490 lon/lat."""

    collection: str
    fid: int
    label: str
    field: str
    value: str
    rank: int
    bbox: tuple[float, float, float, float]
    point: tuple[float, float]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _layer_sql(layer: Layer, params: Params, *, pattern: str, exact: str, prefix: str, per_layer: str) -> str:
    label = layer.attributes.label or layer.attributes.search[0]
    branches = []
    for name in layer.attributes.search:
        col = f"t.{quote_ident(name)}"
        branches.append(
            f"(SELECT t.fid, coalesce(t.{quote_ident(label)}::text, {col}::text) AS label, "  # noqa: S608
            f"{params.add(name, 'text')} AS field, {col}::text AS value, "
            f"CASE WHEN {col}::text = {exact} THEN 0 WHEN {col}::text ILIKE {prefix} THEN 1 ELSE 2 END AS rank, "
            "ST_XMin(t.geom) AS xmin, ST_YMin(t.geom) AS ymin, ST_XMax(t.geom) AS xmax, ST_YMax(t.geom) AS ymax, "
            "ST_X(ST_PointOnSurface(t.geom)) AS px, ST_Y(ST_PointOnSurface(t.geom)) AS py "
            f"FROM {layer.table} t WHERE t.valid_to IS NULL AND {col} ILIKE {pattern} "
            f"ORDER BY rank, length({col}::text), t.fid LIMIT {per_layer})"
        )
    return " UNION ALL ".join(branches)


async def search(conn: asyncpg.Connection, *, layers: Sequence[Layer], text: str, limit: int = 20) -> list[SearchHit]:
    """Current features of ``layers`` whose search fields contain ``text`` (case-insensitive).

    Exact matches rank first, then prefixes, then the rest; shorter values before longer.
    """
    text = text.strip()[:MAX_QUERY_CHARS]
    searchable = [layer for layer in layers if layer.is_vector and layer.attributes.search]
    if not text or not searchable:
        return []
    params = Params()
    pattern = params.add(_like_pattern(text), "text")
    prefix = params.add(_like_pattern(text)[1:], "text")
    exact = params.add(text, "text")
    per_layer = params.add(limit, "int4")
    parts = []
    for layer in searchable:
        sql = _layer_sql(layer, params, pattern=pattern, exact=exact, prefix=prefix, per_layer=per_layer)
        parts.append(f"SELECT {params.add(layer.id, 'text')} AS collection, s.* FROM ({sql}) s")  # noqa: S608
    query = (
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) hits "  # noqa: S608
        f"ORDER BY rank, length(value), collection, fid LIMIT {per_layer}"
    )
    rows = await conn.fetch(query, *params.values)
    seen: set[tuple[str, int]] = set()
    hits = []
    for r in rows:
        if (r["collection"], r["fid"]) in seen:
            continue
        seen.add((r["collection"], r["fid"]))
        hits.append(
            SearchHit(
                r["collection"],
                r["fid"],
                r["label"],
                r["field"],
                r["value"],
                r["rank"],
                (r["xmin"], r["ymin"], r["xmax"], r["ymax"]),
                (r["px"], r["py"]),
            )
        )
    return hits
