"""The building statistics rollup (migration 0014) stays exact on every write path.

After each kind of write the rollup must equal one rebuilt from the stored versions
(``onemap.building_rollup_fill``), and building-statistics must equal a count made in Python from
the raw rows, now and as of past instants, for a district, a street, a grid cell, a drawn polygon
and a polygon large enough to be answered from the coarse cells.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from analysis.building_stats import occupied_cells
from analysis.catalogue import PROCESSES
from analysis.cells import cover
from layers.building_rollup import CELLS_PER_DEGREE, TOP_LEVEL, cell_size
from layers.bulk import copy_rows, create_staging, retire_by_key, upsert_by_key
from layers.bulk_edit import apply_bulk_edit, selection
from layers.db import connect
from layers.model import Layer
from layers.query.cql2 import parse
from layers.registry import Registry
from layers.undo import undo_changeset
from layers.versioning import (
    FeatureIn,
    insert_feature,
    open_changeset,
    replace_feature,
    retire_feature,
    update_feature,
)
from tests.analysis import buildings as town
from tests.analysis.networks import context

STATS = PROCESSES["building-statistics"]
BIG = (-6000, -6000, 6000, 6000)  # local metres: whole coarse cells inside
AREAS: list[tuple[dict[str, Any], Any]] = [
    ({"district": "430104"}, town.district("430104")),
    ({"street": "430104001"}, town.cells_union(("430104", 1, 1, 1), ("430104", 1, 1, 2), ("430104", 1, 2, 1))),
    ({"grid": "43010400100201"}, town.cells_union(("430104", 1, 2, 1))),
    (town.polygon_json(50, 20, 330, 160), town.local_box(50, 20, 330, 160)),
    (town.polygon_json(*BIG), town.local_box(*BIG)),
]
INSTANTS = [None, dt.datetime(2012, 3, 1, tzinfo=dt.UTC), dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2017, 1, 1, tzinfo=dt.UTC), dt.datetime(2021, 1, 1, tzinfo=dt.UTC)]
ROLLUP = town.ROLLUP


@pytest.fixture(scope="module")
async def conn(module_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    c = await connect(module_db_url)
    try:
        await town.write(c)
        yield c
    finally:
        await c.close()


async def _layer(conn: asyncpg.Connection) -> Layer:
    return (await Registry.load(conn)).get("buildings")


class _Rollback(Exception):
    pass


async def _check(pool: asyncpg.Pool, conn: asyncpg.Connection, instants: list[dt.datetime | None] = INSTANTS) -> None:
    kept = await conn.fetch(ROLLUP)
    assert kept == await town.rebuilt_rollup(conn)
    assert all(r["buildings"] or r["footprint_mm2"] or r["floor_area_mm2"] for r in kept)  # no zero rows kept
    rows = await town.raw_rows(conn)
    for area, geom in AREAS:
        for at in instants:
            got = await STATS.run(context(pool), {"area": area} | ({"datetime": at.isoformat()} if at else {}))
            snap = got["statistics"]["snapshots"][0]
            want = town.expected(rows, geom, at)
            t = snap["totals"]
            assert (t["buildings"], t["footprint_m2"], t["floor_area_m2"]) == pytest.approx(want["totals"], abs=0.02), \
                (area, at)
            for name in ("by_use", "by_age", "by_height", "by_floor_rule"):
                have = {c["key"]: [c["buildings"], c["footprint_m2"], c["floor_area_m2"]] for c in snap[name]
                        if c["buildings"]}
                assert have.keys() == want[name].keys(), (area, at, name)
                for key, measures in want[name].items():
                    assert have[key] == pytest.approx(measures, abs=0.02), (area, at, name, key)


def _square(x: float, y: float, half: float = 6.0) -> MultiPolygon:
    return MultiPolygon([town.local_box(x - half, y - half, x + half, y + half)])


async def test_the_rollup_answers_inside_cells_and_scans_the_edge(pool: asyncpg.Pool,
                                                                  conn: asyncpg.Connection) -> None:
    occupied = await occupied_cells(conn)
    district = cover(town.district("430104"), occupied)
    big = cover(town.local_box(*BIG), occupied)
    assert district.level and district.edge_ix  # both halves of the query have work
    assert max(big.level) >= 4  # a big area is mostly a few coarse cells
    inside = await conn.fetchval(
        "SELECT coalesce(sum(buildings), 0) FROM onemap.building_rollup r JOIN unnest($1::int2[], $2::int[], "
        "$3::int[]) c(level, ix, iy) USING (level, ix, iy) WHERE class_key LIKE 'by_floor_rule:%'",
        district.level, district.ix, district.iy)
    assert inside > 0  # some of the district's buildings come from the rollup
    await _check(pool, conn)


async def test_single_edits(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    fids = [r["fid"] for r in await conn.fetch("SELECT fid FROM data.buildings WHERE valid_to IS NULL ORDER BY fid")]
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        await insert_feature(conn, layer=bld, changeset_id=cs, feature=FeatureIn(
            _square(150, 60), {"source_id": "new1", "use": "office", "height_m": 60.0, "floors": None,
                               "year_built": 2024}))
        await update_feature(conn, layer=bld, fid=fids[0], patch={"floors": 14, "use": "commercial"}, geometry=None,
                             changeset_id=cs)
        # A move to another cell: the old cell loses it, the new one gains it.
        await replace_feature(conn, layer=bld, fid=fids[1], changeset_id=cs, feature=FeatureIn(
            _square(310, 150), {"source_id": "moved", "use": "residential", "height_m": 12.0, "floors": 4,
                                "year_built": 1995}))
    await _check(pool, conn)


async def test_bulk_edit_and_its_undo(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    sel = selection(bld, parse("use = 'office' OR floors = 6", lang="cql2-text"), None)
    async with conn.transaction():
        cs, fids = await apply_bulk_edit(conn, sel, {"use": "industrial", "height_m": 110.0}, actor="pytest",
                                         comment=None, valid_from=None, filter_text=None)
    assert cs is not None and len(fids) > 3
    await _check(pool, conn)
    async with conn.transaction():
        await undo_changeset(conn, cs, actor="pytest", comment=None, force=False, layer_of=lambda _id: bld)
    await _check(pool, conn)


async def test_a_re_import_and_a_retirement_by_key(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    current = await conn.fetch("SELECT source_id FROM data.buildings WHERE valid_to IS NULL AND source_id LIKE 't%' "
                               "ORDER BY fid LIMIT 12")
    rng = random.Random(3)
    staged = [(i, r["source_id"], _square(rng.uniform(0, 390), rng.uniform(0, 190))) for i, r in enumerate(current)]
    staged += [(100 + i, f"imp{i}", _square(rng.uniform(0, 390), rng.uniform(0, 190))) for i in range(8)]
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="import")
        staging = await create_staging(conn, bld)
        await copy_rows(conn, staging, [_staged_row(bld, n, sid, g, rng) for n, sid, g in staged])
        counts = await upsert_by_key(conn, staging, key=["source_id"], changeset_id=cs)
        assert counts.inserted == 8 and counts.new_versions == 12
        gone = await create_staging(conn, bld, suffix="_gone")
        await copy_rows(conn, gone, [_staged_row(bld, 0, "imp0", _square(0, 0), rng)])
        assert await retire_by_key(conn, gone, key=["source_id"], changeset_id=cs) == 1
    await _check(pool, conn)


def _staged_row(bld: Layer, row_no: int, source_id: str, geom: MultiPolygon, rng: random.Random) -> list[Any]:
    props = {"source_id": source_id, "name": f"导入{row_no}", "use": rng.choice(town.USES),
             "height_m": rng.choice([None, 9.0, 33.0]), "floors": rng.choice([None, 3]), "year_built": 2021}
    return [row_no, shapely.to_wkb(geom), None, *[props.get(f.name) for f in bld.attributes.fields]]


async def test_retire_and_a_back_dated_edit(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    since_2010 = [r["fid"] for r in await conn.fetch(
        "SELECT fid FROM data.buildings WHERE valid_to IS NULL AND valid_from = $1 ORDER BY fid", town.T2010)]
    back = dt.datetime(2012, 3, 1, tzinfo=dt.UTC)  # one of INSTANTS: the edit's own instant is checked
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        await retire_feature(conn, layer=bld, fid=since_2010[0], changeset_id=cs)
        await update_feature(conn, layer=bld, fid=since_2010[1], patch={"use": "education", "floors": 2},
                             geometry=None, changeset_id=cs, valid_from=back)
        await retire_feature(conn, layer=bld, fid=since_2010[2], changeset_id=cs, valid_to=back)
    await _check(pool, conn, [*INSTANTS, back - dt.timedelta(microseconds=1), back + dt.timedelta(microseconds=1)])


async def test_a_rolled_back_write_leaves_no_trace(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    before = await conn.fetch(ROLLUP)
    with pytest.raises(_Rollback):
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest", source="test")
            await insert_feature(conn, layer=bld, changeset_id=cs, feature=FeatureIn(
                _square(80, 80), {"source_id": "never", "use": "office", "year_built": 2024}))
            await conn.execute("UPDATE data.buildings SET valid_to = now() WHERE valid_to IS NULL AND fid % 3 = 0")
            assert await conn.fetch(ROLLUP) != before
            raise _Rollback
    assert await conn.fetch(ROLLUP) == before
    await _check(pool, conn, [None])


async def test_adding_every_changeset_in_bulk_rebuilds_the_rollup(conn: asyncpg.Connection) -> None:
    """``onemap.building_rollup_add_changeset`` (an initial load's one pass, migration 0016): every version
    belongs to one changeset, so adding each changeset's versions to an empty rollup, current and closed
    ones alike, must give exactly the full rebuild."""
    changesets = [r["changeset_id"] for r in await conn.fetch(
        "SELECT DISTINCT changeset_id FROM data.buildings ORDER BY 1")]
    assert len(changesets) > 2
    assert await conn.fetchval("SELECT count(*) FROM data.buildings WHERE valid_to IS NOT NULL") > 0
    want = await town.rebuilt_rollup(conn)
    with pytest.raises(_Rollback):
        async with conn.transaction():
            await conn.execute("TRUNCATE onemap.building_rollup")
            for changeset in changesets:
                await conn.execute("SELECT onemap.building_rollup_add_changeset($1)", changeset)
            assert await conn.fetch(ROLLUP) == want
            raise _Rollback


async def test_two_writers_on_one_rollup_row(pool: asyncpg.Pool, conn: asyncpg.Connection, module_db_url: str) -> None:
    bld = await _layer(conn)
    at = dt.datetime(2022, 5, 5, tzinfo=dt.UTC)  # both write the same (cell, class, instant) rows
    props = {"use": "commercial", "height_m": 20.0, "floors": 5, "year_built": 2022}
    other = await connect(module_db_url)
    try:
        async with conn.transaction():
            cs = await open_changeset(conn, actor="pytest", source="test")
            await insert_feature(conn, layer=bld, changeset_id=cs, valid_from=at,
                                 feature=FeatureIn(_square(20, 20, 2), {"source_id": "w1", **props}))

            async def second() -> None:
                async with other.transaction():
                    cs2 = await open_changeset(other, actor="pytest", source="test")
                    await insert_feature(other, layer=bld, changeset_id=cs2, valid_from=at,
                                         feature=FeatureIn(_square(24, 24, 2), {"source_id": "w2", **props}))

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.5)
            assert not waiting.done()  # it waits for our row of the rollup
        await asyncio.wait_for(waiting, 10)
    finally:
        await other.close()
    await _check(pool, conn, [None, at])


async def test_a_point_on_a_cell_edge_counts_once(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    bld = await _layer(conn)
    lon, lat = town.local_box(200, 100, 201, 101).centroid.coords[0]
    k, m = int(lon * CELLS_PER_DEGREE) + 1, int(lat * CELLS_PER_DEGREE)
    s, d = cell_size(0), 2.0**-16
    x, y = k * s, (m + 0.5) * s  # the point on surface of a square centred here is on the cells' shared edge
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        await insert_feature(conn, layer=bld, changeset_id=cs, feature=FeatureIn(
            MultiPolygon([box(x - d, y - d, x + d, y + d)]), {"source_id": "edge", "use": "office"}))
    px = await conn.fetchval("SELECT ST_X(surface_point) FROM data.buildings WHERE source_id = 'edge'")
    assert px * CELLS_PER_DEGREE == k  # on the edge (else this test proves nothing)
    rows = await town.raw_rows(conn)
    for x0, x1 in ((k - 3, k + 0.5), (k - 0.5, k + 3)):  # cell k on the area's edge, then cell k inside
        area = Polygon(box(x0 * s, (m - 2) * s, x1 * s, (m + 3) * s))
        got = await STATS.run(context(pool), {"area": mapping(area)})
        assert got["statistics"]["snapshots"][0]["totals"]["buildings"] == town.expected(rows, area, None)["totals"][0]


def test_the_cover_partitions_the_cells() -> None:
    rng = random.Random(11)
    top = 2**TOP_LEVEL / CELLS_PER_DEGREE  # the top-level cells around Changsha
    occupied = [(x, y) for x in range(int(110.1 / top), int(110.5 / top))
                for y in range(int(28.0 / top), int(28.4 / top))]
    for _ in range(12):
        cx, cy = rng.uniform(110.2, 110.4), rng.uniform(28.1, 28.3)
        area = shapely.Point(cx, cy).buffer(rng.uniform(0.002, 0.06), quad_segs=rng.choice([2, 8, 32]))
        found = cover(area, occupied)
        level0: list[tuple[int, int]] = []
        for level, ix, iy in zip(found.level, found.ix, found.iy, strict=True):
            assert area.covers(box(ix * cell_size(level), iy * cell_size(level), (ix + 1) * cell_size(level),
                                   (iy + 1) * cell_size(level)))
            n = 2**level
            level0 += [(ix * n + dx, iy * n + dy) for dx in range(n) for dy in range(n)]
        level0 += list(zip(found.edge_ix, found.edge_iy, strict=True))
        assert len(level0) == len(set(level0))  # no cell counted twice
        s = cell_size(0)
        x0, y0, x1, y1 = area.bounds  # every level-0 cell the area touches is inside or on the edge
        for ix in range(int(x0 / s) - 1, int(x1 / s) + 1):
            for iy in range(int(y0 / s) - 1, int(y1 / s) + 1):
                if box(ix * s, iy * s, (ix + 1) * s, (iy + 1) * s).intersects(area):
                    assert (ix, iy) in level0 or (ix >> TOP_LEVEL, iy >> TOP_LEVEL) not in occupied
