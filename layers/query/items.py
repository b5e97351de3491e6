"""One SQL statement per items page: selection, bbox, CQL2, keyset, page JSON and the count.

Count policy (``numberMatched``): never a full-table count on a big layer.
* No spatial or attribute filter on current rows: the planner's row estimate of the
  layer's partial ``cur_fid`` index decides; at or below ``count_cap`` an exact count
  runs (index-only), above it the estimate is returned and labelled as one.
* Any other query: an exact count bounded by ``count_cap + 1`` rows, in the same
  statement. If it overflows, the answer is "more than the cap" and the planner's
  estimate is given instead, labelled as an estimate.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import orjson

from layers.ddl import index_name
from layers.model import DATA_SCHEMA, Layer
from layers.query import cql2
from layers.query.bbox import Bbox
from layers.query.output import feature_sql
from layers.query.paging import Cursor
from layers.query.sorting import SortKey, key_columns, order_by, seek
from layers.sql import Params
from layers.temporal import AsOf, Current, Selection, predicate
from spatial.crs import CRS84, CrsRef

CountKind = Literal["exact", "estimate", "omitted"]


@dataclass(frozen=True)
class ItemsRequest:
    """Everything that shapes an items page, already validated."""

    layer: Layer
    selection: Selection = field(default_factory=Current)
    bbox: Bbox | None = None
    filter_tree: dict[str, Any] | bool | None = None
    filter_crs: CrsRef = CRS84
    sort: tuple[SortKey, ...] = ()
    properties: tuple[str, ...] | None = None
    crs: CrsRef = CRS84
    limit: int = 10
    offset: int = 0
    cursor: Cursor | None = None
    unique_ids: bool = False
    count_cap: int = 200_000
    count: bool = True

    @property
    def one_version_per_feature(self) -> bool:
        """True when a feature appears at most once (current or as-of), so fid alone is a key."""
        return isinstance(self.selection, Current | AsOf)


@dataclass(frozen=True, slots=True)
class Page:
    """A page as PostgreSQL wrote it: the features' JSON text and what links need."""

    features: bytes  # UTF-8 JSON, passed through untouched
    returned: int
    has_more: bool
    first_key: str | None
    last_key: str | None
    matched: int | None
    matched_kind: CountKind


def where_clause(req: ItemsRequest, params: Params) -> str:
    """The filter part shared by the page and the count (no keyset)."""
    clauses = [predicate(req.selection, params)]
    if req.bbox is not None:
        clauses.append(req.bbox.predicate(params))
    if req.filter_tree is not None:
        clauses.append(
            cql2.translate(req.filter_tree, layer=req.layer, params=params, filter_crs=req.filter_crs)
        )
    return " AND ".join(clauses)


def _plain_current(req: ItemsRequest) -> bool:
    return isinstance(req.selection, Current) and req.bbox is None and req.filter_tree is None


def page_sql(req: ItemsRequest) -> tuple[str, list[Any]]:
    """The page statement and its parameters (also what the benchmark floor runs)."""
    params = Params()
    where = where_clause(req, params)
    count_where = where
    with_version = not req.one_version_per_feature
    reverse = req.cursor is not None and req.cursor.direction == "prev"
    if req.cursor is not None:
        where += " AND " + seek(
            req.sort,
            req.cursor.values,
            req.cursor.fid,
            req.cursor.version,
            params,
            with_version=with_version,
            reverse=reverse,
        )
    order = order_by(req.sort, with_version=with_version, reverse=reverse)
    fetch = params.add(req.limit + 1, "int")
    if req.offset:
        where += " AND " + _offset_window(req, where, order, fetch, params)
    limit = params.add(req.limit, "int")
    feature = feature_sql(req.layer, names=req.properties, crs=req.crs, unique_ids=req.unique_ids)
    table = req.layer.table
    count_sql, estimate_sql = "NULL::bigint", "NULL::bigint"
    if req.count:
        cap = params.add(req.count_cap + 1, "int")
        capped = f"(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {count_where} LIMIT {cap}) c)"  # noqa: S608
        if _plain_current(req):
            idx = f"{DATA_SCHEMA}.{index_name(req.layer.id, 'cur_fid')}"
            regclass = params.add(idx, "text")
            estimate_sql = f"(SELECT reltuples::bigint FROM pg_class WHERE oid = {regclass}::regclass)"  # noqa: S608
            count_sql = f"(CASE WHEN {estimate_sql} BETWEEN -1 AND {cap} - 1 THEN {capped} ELSE NULL END)"
        else:
            count_sql = capped
    direction = "DESC" if reverse else "ASC"
    sql = f"""
WITH page AS (
  SELECT {feature} AS f, {key_columns(req.sort)} AS k, row_number() OVER (ORDER BY {order}) AS rn
  FROM {table} WHERE {where}
  ORDER BY {order} LIMIT {fetch}
)
SELECT (SELECT convert_to(string_agg(f, ',' ORDER BY rn {direction}), 'UTF8') FROM page WHERE rn <= {limit})
         AS features,
       (SELECT count(*) FROM page) AS fetched,
       (SELECT k FROM page WHERE rn = 1) AS k_first,
       (SELECT k FROM page WHERE rn <= {limit} ORDER BY rn DESC LIMIT 1) AS k_last,
       {count_sql} AS matched,
       {estimate_sql} AS estimate
"""  # noqa: S608 - identifiers come from the registry via quote_ident; values are bound
    return sql, params.values


def _offset_window(req: ItemsRequest, where: str, order: str, fetch: str, params: Params) -> str:
    """SQL true for the rows ``req.offset`` rows into the order, found on keys alone.

    The skipped rows are walked in the order's index (for the default order, an index-only scan
    of the partial ``cur_fid`` index) and only their keys are read: no feature JSON is built for
    them and nothing is counted. The page itself is then rendered from the rows found.
    """
    key = "fid" if req.one_version_per_feature else "(fid, version)"
    offset = params.add(req.offset, "bigint")
    return (
        f"{key} IN (SELECT {key.strip('()')} FROM {req.layer.table} WHERE {where} "  # noqa: S608
        f"ORDER BY {order} OFFSET {offset} LIMIT {fetch})"
    )


async def fetch_page(conn: asyncpg.Connection, req: ItemsRequest) -> Page:
    """Run the page statement; fall back to a planner estimate when the exact count overflows."""
    sql, values = page_sql(req)
    row = await conn.fetchrow(sql, *values)
    fetched = int(row["fetched"])
    reverse = req.cursor is not None and req.cursor.direction == "prev"
    first, last = (row["k_last"], row["k_first"]) if reverse else (row["k_first"], row["k_last"])
    matched: int | None = row["matched"]
    kind: CountKind = "exact" if matched is not None else "omitted"
    if not req.count:
        kind = "omitted"
    elif matched is not None and matched > req.count_cap:
        matched, kind = await estimate(conn, req), "estimate"
    elif matched is None and row["estimate"] is not None:
        matched, kind = max(int(row["estimate"]), 0), "estimate"
    return Page(
        features=bytes(row["features"]) if row["features"] is not None else b"",
        returned=min(fetched, req.limit),
        has_more=fetched > req.limit,
        first_key=first,
        last_key=last,
        matched=matched,
        matched_kind=kind,
    )


async def estimate(conn: asyncpg.Connection, req: ItemsRequest) -> int:
    """The planner's row estimate for the query (cheap: EXPLAIN does not run it)."""
    params = Params()
    where = where_clause(req, params)
    plan = await conn.fetchval(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {req.layer.table} WHERE {where}",  # noqa: S608
        *params.values,
    )
    data = plan if isinstance(plan, list) else json.loads(plan)
    return int(data[0]["Plan"]["Plan Rows"])


_item_sql_cache: dict[tuple[object, ...], str] = {}


def item_sql(layer: Layer, *, crs: CrsRef, at: bool) -> str:
    """One feature (current, or valid at ``$2``) with its neighbours' start times for links.

    Cached per layer revision, CRS and kind: the item-by-id path is the leanest one.
    """
    key = (layer.id, layer.updated_at, crs, at)
    hit = _item_sql_cache.get(key)
    if hit is None:
        if len(_item_sql_cache) > 1024:
            _item_sql_cache.clear()
        hit = _item_sql_cache[key] = _item_sql(layer, crs=crs, at=at)
    return hit


def _item_sql(layer: Layer, *, crs: CrsRef, at: bool) -> str:
    feature = feature_sql(layer, names=None, crs=crs)
    sel = "tstzrange(t.valid_from, t.valid_to) @> $2::timestamptz" if at else "t.valid_to IS NULL"
    table = layer.table
    return f"""
SELECT {feature} AS f,
       t.version, t.valid_from, t.valid_to,
       (SELECT p.valid_from FROM {table} p WHERE p.fid = t.fid AND p.version < t.version
          AND p.valid_to > p.valid_from ORDER BY p.version DESC LIMIT 1) AS prev_from,
       (SELECT n.valid_from FROM {table} n WHERE n.fid = t.fid AND n.version > t.version
          AND (n.valid_to IS NULL OR n.valid_to > n.valid_from) ORDER BY n.version LIMIT 1) AS next_from
FROM {table} t WHERE t.fid = $1 AND {sel}
"""  # noqa: S608


async def fetch_item(
    conn: asyncpg.Connection, *, layer: Layer, fid: int, crs: CrsRef, at: dt.datetime | None
) -> asyncpg.Record | None:
    """One feature as current (``at`` None) or valid at ``at``: columns f (GeoJSON text), version,
    valid_from, valid_to, prev_from and next_from (start times of its neighbouring versions)."""
    sql = item_sql(layer, crs=crs, at=at is not None)
    return await (conn.fetchrow(sql, fid, at) if at is not None else conn.fetchrow(sql, fid))


def decode_key(key: str | None) -> list[Any] | None:
    """The sort key a page row carries, as JSON values (None for an empty page)."""
    return orjson.loads(key) if key else None
