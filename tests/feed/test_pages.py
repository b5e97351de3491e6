"""Pull pages of the feed: commit order (not change-id order), stable resumable cursors, rendering."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
import pytest
from shapely.geometry import Point

from feed.cursor import START, Cursor, parse_cursor
from feed.errors import InvalidCursor
from feed.pages import head_seq, read_page
from layers.db import connect
from layers.model import Layer
from layers.versioning import FeatureIn, insert_feature, open_changeset, retire_feature, update_feature


def _site(code: str, n: int, x: float = 112.9) -> FeatureIn:
    return FeatureIn(Point(x, 28.2), {"code": code, "kind": "a", "n": n})


async def _insert(conn: asyncpg.Connection, layer: Layer, code: str, n: int = 1) -> int:
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test", details={"comment": f"新增 {code}"})
        ref = await insert_feature(conn, layer=layer, feature=_site(code, n), changeset_id=cs)
    return ref.fid


async def _all(conn: asyncpg.Connection, layer: Layer, after: Cursor = START, limit: int = 1000) -> list[dict]:
    out: list[dict] = []
    while True:
        page = await read_page(conn, [layer], after=after, limit=limit)
        out += [orjson.loads(m) for m in page.mutations]
        if not page.mutations:
            return out
        assert page.next > after
        after = page.next


async def test_a_page_renders_each_mutation_with_its_feature_and_changeset(
    conn: asyncpg.Connection, sites: Layer
) -> None:
    fid = await _insert(conn, sites, "A", 1)
    async with conn.transaction():
        cs = await open_changeset(conn, actor="li", source="api", details={"comment": "改数"})
        await update_feature(conn, layer=sites, fid=fid, patch={"n": 2}, geometry=None, changeset_id=cs)
    async with conn.transaction():
        cs = await open_changeset(conn, actor="li", source="api")
        await retire_feature(conn, layer=sites, fid=fid, changeset_id=cs)
    muts = await _all(conn, sites)
    assert [(m["operation"], m["version"], m["featureId"]) for m in muts] == [
        ("insert", 1, fid), ("update", 2, fid), ("retire", 2, fid)]
    assert muts[0]["comment"] == "新增 A" and muts[1]["comment"] == "改数" and muts[2]["comment"] is None
    assert muts[1]["actor"] == "li" and muts[1]["versionBefore"] == 1
    assert muts[1]["feature"]["properties"]["n"] == 2 and muts[1]["feature"]["geometry"]["type"] == "Point"
    assert muts[2]["feature"] is None and muts[2]["validTo"] is not None
    assert all(m["committedAt"].endswith("+00:00") for m in muts)
    cursors = [parse_cursor(m["cursor"]) for m in muts]
    assert cursors == sorted(cursors) and len(set(cursors)) == 3


async def test_paging_is_stable_and_resumable(conn: asyncpg.Connection, sites: Layer) -> None:
    for i in range(7):
        await _insert(conn, sites, f"S{i}", i)
    whole = await _all(conn, sites)
    by_twos = await _all(conn, sites, limit=2)
    assert [m["cursor"] for m in by_twos] == [m["cursor"] for m in whole] and len(whole) == 7
    # Resuming from the middle gives exactly the rest, even after more commits.
    await _insert(conn, sites, "LATE")
    rest = await _all(conn, sites, after=parse_cursor(whole[3]["cursor"]))
    assert [m["cursor"] for m in rest[:3]] == [m["cursor"] for m in whole[4:]]
    assert [m["feature"]["properties"]["code"] for m in rest[3:]] == ["LATE"]


async def test_a_caught_up_page_points_past_the_head(conn: asyncpg.Connection, sites: Layer) -> None:
    await _insert(conn, sites, "A")
    page = await read_page(conn, [sites], after=START, limit=10)
    assert len(page.mutations) == 1 and page.next == Cursor.after_commit(await head_seq(conn))
    empty = await read_page(conn, [sites], after=page.next, limit=10)
    assert empty.mutations == [] and empty.next == page.next


async def test_the_feed_follows_commit_order_not_change_id_order(
    conn: asyncpg.Connection, sites: Layer, fresh_db_url: str
) -> None:
    """T1 writes first (smaller change id) but commits last: a consumer that read T2 meanwhile must
    still get T1 afterwards, and the feed lists T2 before T1."""
    seed = await _insert(conn, sites, "SEED")  # so neither transaction moves the layer's extent (a row lock)
    other = await connect(fresh_db_url)
    try:
        t1 = conn.transaction()
        await t1.start()
        cs1 = await open_changeset(conn, actor="t1", source="test")
        first = await insert_feature(conn, layer=sites, feature=_site("T1", 1), changeset_id=cs1)
        async with other.transaction():
            cs2 = await open_changeset(other, actor="t2", source="test")
            second = await asyncio.wait_for(
                insert_feature(other, layer=sites, feature=_site("T2", 2), changeset_id=cs2), 20)
        seen = await read_page(other, [sites], after=START, limit=100)
        assert [orjson.loads(m)["featureId"] for m in seen.mutations] == [seed, second.fid]
        await t1.commit()
        later = await read_page(other, [sites], after=seen.next, limit=100)
        assert [orjson.loads(m)["featureId"] for m in later.mutations] == [first.fid]
        ids = await conn.fetch("SELECT fid, id FROM onemap.changes ORDER BY id")
        assert [r["fid"] for r in ids] == [seed, first.fid, second.fid]  # ids follow write order
        assert [m["featureId"] for m in await _all(conn, sites)] == [seed, second.fid, first.fid]
    finally:
        await other.close()


async def test_a_rolled_back_transaction_leaves_no_trace(conn: asyncpg.Connection, sites: Layer) -> None:
    tr = conn.transaction()
    await tr.start()
    cs = await open_changeset(conn, actor="x", source="test")
    await insert_feature(conn, layer=sites, feature=_site("GONE", 1), changeset_id=cs)
    await tr.rollback()
    await _insert(conn, sites, "KEPT")
    assert [m["feature"]["properties"]["code"] for m in await _all(conn, sites)] == ["KEPT"]


@pytest.mark.parametrize("bad", ["", "1.2", "a.b.c", "-1.0.0", "1.2.3.4", "9" * 30 + ".0.0"])
def test_malformed_cursors_are_refused(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        parse_cursor(bad)
