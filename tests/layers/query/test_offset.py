"""``offset`` pages: the same rows as LIMIT/OFFSET over the full order, found on keys alone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import orjson
import pytest

from layers.model import Layer
from layers.query.items import ItemsRequest, fetch_page, page_sql
from layers.query.sorting import parse_sortby
from layers.temporal import AsOf, During

ROWS = 6_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def loaded(db: asyncpg.Connection, sites: Layer, changeset: int) -> Layer:
    """ROWS current points; every 10th also has a closed earlier version (history to skip over)."""
    await db.execute(
        f"""
        INSERT INTO {sites.table} (fid, version, valid_from, valid_to, changeset_id, geom, code, kind, n)
        SELECT g, 1, $1, CASE WHEN g % 10 = 0 THEN $2 END, $3,
               ST_SetSRID(ST_MakePoint(112.9 + g * 1e-5, 28.1), 4490), 'S' || g,
               (ARRAY['a', 'b', 'c'])[g % 3 + 1], g % 97
        FROM generate_series(1, {ROWS}) g;
        INSERT INTO {sites.table} (fid, version, valid_from, changeset_id, geom, code, kind, n)
        SELECT g, 2, $2, $3, ST_SetSRID(ST_MakePoint(112.9 + g * 1e-5, 28.2), 4490), 'S' || g, 'a', g % 97
        FROM generate_series(10, {ROWS}, 10) g
        """.replace("$1", f"'{T0.isoformat()}'::timestamptz")
        .replace("$2", f"'{T1.isoformat()}'::timestamptz")
        .replace("$3", str(changeset))
    )
    await db.execute(f"ANALYZE {sites.table}")
    return sites


def _ids(features: bytes) -> list[Any]:
    return [f["id"] for f in orjson.loads(b"[" + features + b"]")] if features else []


async def _expected(db: asyncpg.Connection, layer: Layer, where: str, order: str, offset: int, limit: int) -> list[Any]:
    rows = await db.fetch(
        f"SELECT fid, version FROM {layer.table} WHERE {where} ORDER BY {order} OFFSET {offset} LIMIT {limit}"
    )
    return [r["fid"] for r in rows]


@pytest.mark.parametrize("offset", [0, 1, 99, 4_321, ROWS - 3, ROWS + 10])
async def test_offset_pages_equal_sql_offset(db: asyncpg.Connection, loaded: Layer, offset: int) -> None:
    page = await fetch_page(db, ItemsRequest(layer=loaded, limit=25, offset=offset))
    assert _ids(page.features) == await _expected(db, loaded, "valid_to IS NULL", "fid", offset, 25)
    assert page.has_more == (offset + 25 < ROWS)


async def test_offset_with_sort_time_travel_and_versions(db: asyncpg.Connection, loaded: Layer) -> None:
    sort = parse_sortby(loaded, "-n,code")
    page = await fetch_page(db, ItemsRequest(layer=loaded, limit=30, offset=700, sort=sort))
    assert _ids(page.features) == await _expected(db, loaded, "valid_to IS NULL", "n DESC, code, fid", 700, 30)
    as_of = await fetch_page(db, ItemsRequest(layer=loaded, selection=AsOf(T0), limit=10, offset=5_000))
    got = orjson.loads(b"[" + as_of.features + b"]")
    assert [f["id"] for f in got] == list(range(5_001, 5_011))
    assert all(f["properties"]["valid_from"] == "2024-01-01T00:00:00Z" for f in got)
    versions = await fetch_page(db, ItemsRequest(layer=loaded, selection=During(None, None), limit=4, offset=18))
    pairs = [(f["id"], f["properties"]["valid_from"]) for f in orjson.loads(b"[" + versions.features + b"]")]
    # Every 10th fid has two versions, so positions in (fid, version) order are not fids.
    expected = await db.fetch(
        f"SELECT fid, valid_from FROM {loaded.table} ORDER BY fid, version OFFSET 18 LIMIT 4"
    )
    assert pairs == [(r["fid"], r["valid_from"].strftime("%Y-%m-%dT%H:%M:%SZ")) for r in expected]


async def test_deep_offset_renders_only_the_page(db: asyncpg.Connection, loaded: Layer) -> None:
    """The skipped rows are walked in the cur_fid index, by key; the features are built for the page only."""
    req = ItemsRequest(layer=loaded, limit=100, offset=5_000, count=False)
    sql, values = page_sql(req)
    await db.execute("SET LOCAL enable_seqscan = off")  # a 6,000-row table would otherwise be read whole
    raw = await db.fetchval(f"EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) {sql}", *values)
    plan = raw if isinstance(raw, list) else json.loads(raw)
    nodes = list(_walk(plan[0]["Plan"]))
    skipper = [n for n in nodes if n.get("Index Name", "").endswith("cur_fid") and n["Actual Rows"] >= 5_000]
    assert skipper and skipper[0]["Node Type"] == "Index Only Scan", [n["Node Type"] for n in nodes]
    # Whatever builds the feature JSON (the node whose output mentions ST_AsGeoJSON) sees only the page.
    renderers = [n for n in nodes if any("st_asgeojson" in o.lower() for o in n.get("Output", []))]
    assert renderers and all(n["Actual Rows"] * n.get("Actual Loops", 1) <= 101 for n in renderers)
    # Nothing reads beyond the page's end in the order: no count, no scan of the rest of the table.
    assert max(n["Actual Rows"] * n.get("Actual Loops", 1) for n in nodes) <= 5_101


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)
