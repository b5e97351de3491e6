"""An initial load written while it is read (layers/initial_load.py) against the staged merge it replaces.

Both paths run on the same delivery with the same bad rows; the streamed one must write the same
versions, reject the same rows for the same reasons, and be just as all-or-nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.raw import write

from layers import bulk_indexes, initial_load
from layers.db import connect
from layers.errors import LayerError
from tests import deliveries
from tests.analysis import buildings as town
from tests.deliveries import Runner

N = 1500
KEY = "建筑物编号"


def _with_bad_rows(src: Path, out: Path) -> Path:
    """``src`` with row 11 keyless, row 21 a bow-tie, row 31 -5 m high and rows 41/42 sharing a key
    (1-based rows as the report numbers them)."""
    meta, _fids, geoms, values = pyogrio.raw.read(str(src))
    names = list(meta["fields"])
    columns = [np.asarray(v, dtype=object) for v in values]
    geoms = np.asarray(geoms, dtype=object)
    columns[names.index(KEY)][10] = None
    geoms[20] = shapely.to_wkb(shapely.Polygon([(112.91, 28.13), (112.92, 28.14), (112.92, 28.13),
                                                (112.91, 28.14), (112.91, 28.13)]))
    columns[names.index("建筑高度")][30] = -5.0
    columns[names.index(KEY)][41] = columns[names.index(KEY)][40]
    out.unlink(missing_ok=True)
    write(str(out), geoms, columns, names, geometry_type="Polygon", crs=meta["crs"], driver="GPKG")
    return out


@pytest.fixture
def survey(tmp_path: Path) -> Path:
    return _with_bad_rows(deliveries.synthetic_buildings(tmp_path / "clean.gpkg", count=N), tmp_path / "survey.gpkg")


@pytest.fixture
def small_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Initial loads from 100 rows on (instead of 20,000); returns the batch sizes streamed."""
    monkeypatch.setattr(bulk_indexes, "BULK_MIN_ROWS", 100)
    batches: list[int] = []
    real = initial_load.load_batch

    async def counting(conn: asyncpg.Connection, load: initial_load.InitialLoad, rows: list[Any]) -> int:
        batches.append(len(rows))
        return await real(conn, load, rows)

    monkeypatch.setattr(initial_load, "load_batch", counting)
    return batches


@pytest.fixture
async def second_db_url(pg_server: Any, template_db: str) -> AsyncIterator[str]:
    name = pg_server.new_name("il")
    url: str = await pg_server.create_database(name, template=template_db)
    yield url
    await pg_server.drop_database(name)


async def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _rows(url: str) -> list[tuple[Any, ...]]:
    """Every version as written, less what differs by nature between two databases (ids, clocks)."""
    rows = await _fetch(url, """
        SELECT source_id, name, address, use, height_m, height_source, floors, year_built, year_source, version,
               valid_from, valid_to IS NULL AS current, ST_AsEWKB(geom) AS geom, src_hash, footprint_m2,
               ST_AsEWKB(surface_point) AS point, tile_zoom, changeset_id = (SELECT max(id) FROM onemap.changesets)
        FROM data.buildings ORDER BY source_id, version""")
    return [tuple(r) for r in rows]


async def _indexes(url: str) -> list[str]:
    """The layer table's indexes, constraints and column defaults (a load changes them for a while)."""
    rows = await _fetch(url, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'data' AND tablename = 'buildings' "
                             "UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                             "WHERE conrelid = 'data.buildings'::regclass UNION ALL "
                             "SELECT column_name || ' default ' || coalesce(column_default, '-') "
                             "FROM information_schema.columns WHERE table_schema = 'data' "
                             "AND table_name = 'buildings' ORDER BY 1")
    return [r[0] for r in rows]


async def _rollup(url: str) -> list[tuple[Any, ...]]:
    conn = await connect(url)
    try:
        return [tuple(r) for r in await town.rollup(conn)]
    finally:
        await conn.close()


async def _rollup_is_rebuilt_alike(url: str) -> bool:
    """The statistics rollup is not empty and equals the one rebuilt from every stored version."""
    conn = await connect(url)
    try:
        kept = await town.rollup(conn)
        return bool(kept) and kept == await town.rebuilt_rollup(conn)
    finally:
        await conn.close()


def _rejections(report: dict[str, Any]) -> list[tuple[int, list[tuple[str, str]]]]:
    return sorted((r["row"], sorted((x["field"], x["code"]) for x in r["reasons"])) for r in report["rejections"])


@pytest.mark.parametrize("mode", ["upsert", "append"])
async def test_streamed_initial_load_writes_and_rejects_what_the_staged_merge_does(
    fresh_db_url: str, second_db_url: str, run_import: Runner, survey: Path, small_loads: list[int],
    monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:
    args = ("--valid-from", "2024-01-01", "--max-rejects", "10", "--mode", mode)
    keyless = [(11, [("source_id", "required")])] if mode == "upsert" else []  # append takes a row without key
    code, streamed = await run_import("buildings", survey, *args, url=fresh_db_url)
    # Row 41 is written, and withdrawn once row 42 turns out to share its key.
    assert code == 0 and small_loads and sum(small_loads) == N - 3 - len(keyless)
    monkeypatch.setattr(initial_load, "begin", _never)
    count_before = len(small_loads)
    code, staged = await run_import("buildings", survey, *args, url=second_db_url)
    assert code == 0 and len(small_loads) == count_before  # the staged merge this time
    # Rows 41 and 42 share a key: the first was already written when the second was read.
    assert _rejections(streamed) == _rejections(staged) == [
        *keyless, (21, [("geometry", "invalid")]), (31, [("height_m", "minimum")]),
        (41, [("source_id", "duplicate")]), (42, [("source_id", "duplicate")])]
    assert streamed["counts"] == staged["counts"] and streamed["counts"]["inserted"] == N - 4 - len(keyless)
    assert await _rows(fresh_db_url) == await _rows(second_db_url)
    assert await _indexes(fresh_db_url) == await _indexes(second_db_url)
    assert any("indexes were rebuilt" in w for w in streamed["warnings"])
    # The statistics rollup: added once at the end of the streamed load, per batch by the staged merge's trigger.
    assert await _rollup(fresh_db_url) == await _rollup(second_db_url)
    assert await _rollup_is_rebuilt_alike(fresh_db_url)
    # The triggers are on again after the load: a later single edit is counted at once.
    conn = await connect(fresh_db_url)
    try:
        before = await conn.fetchval("SELECT sum(buildings) FROM onemap.building_rollup WHERE level = 0 "
                                     "AND class_key LIKE 'by_use:%'")
        await conn.execute("UPDATE data.buildings SET valid_to = valid_from WHERE fid = "
                           "(SELECT min(fid) FROM data.buildings)")
        after = await conn.fetchval("SELECT sum(buildings) FROM onemap.building_rollup WHERE level = 0 "
                                    "AND class_key LIKE 'by_use:%'")
    finally:
        await conn.close()
    assert after == before - 1


async def _never(*_args: Any, **_kwargs: Any) -> None:
    return None


async def test_refused_initial_load_leaves_the_layer_and_its_indexes_as_they_were(
    fresh_db_url: str, run_import: Runner, survey: Path, small_loads: list[int],
) -> None:
    indexes = await _indexes(fresh_db_url)
    code, report = await run_import("buildings", survey, "--valid-from", "2024-01-01", url=fresh_db_url)
    assert report["status"] == "refused" and code != 0 and sum(small_loads) == N - 4  # written, then rolled back
    assert await _fetch(fresh_db_url, "SELECT 1 FROM data.buildings") == []
    assert await _fetch(fresh_db_url, "SELECT 1 FROM onemap.bulk_changes") == []
    assert await _fetch(fresh_db_url, "SELECT 1 FROM onemap.building_rollup") == []
    assert await _indexes(fresh_db_url) == indexes


async def test_a_batch_that_fails_after_its_rows_were_written_rolls_back_the_whole_load(
    fresh_db_url: str, run_import: Runner, tmp_path: Path, small_loads: list[int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean = deliveries.synthetic_buildings(tmp_path / "clean.gpkg", count=N)
    indexes = await _indexes(fresh_db_url)
    real = initial_load.load_batch

    async def fails_after_writing(conn: asyncpg.Connection, load: initial_load.InitialLoad, rows: list[Any]) -> int:
        written = await real(conn, load, rows)
        assert await conn.fetchval("SELECT count(*) FROM data.buildings") == written
        raise LayerError("the server went away mid-load")

    monkeypatch.setattr(initial_load, "load_batch", fails_after_writing)
    code, report = await run_import("buildings", clean, "--valid-from", "2024-01-01", url=fresh_db_url)
    assert report["status"] == "failed" and code != 0 and "went away" in report["error"]
    assert await _fetch(fresh_db_url, "SELECT 1 FROM data.buildings") == []
    assert await _fetch(fresh_db_url, "SELECT 1 FROM onemap.changesets") == []
    assert await _indexes(fresh_db_url) == indexes


async def test_redelivery_after_a_streamed_initial_load_versions_what_changed(
    fresh_db_url: str, run_import: Runner, tmp_path: Path, small_loads: list[int],
) -> None:
    first = deliveries.synthetic_buildings(tmp_path / "survey_2024.gpkg", count=N)
    second = deliveries.synthetic_buildings(tmp_path / "survey_2025.gpkg", count=N, changed_every=10)
    code, report = await run_import("buildings", first, "--valid-from", "2024-01-01", "--actor", "survey-team",
                                    url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == N and sum(small_loads) == N
    streamed = len(small_loads)
    code, again = await run_import("buildings", second, "--valid-from", "2025-01-01", url=fresh_db_url)
    assert code == 0 and len(small_loads) == streamed  # not an initial load: staged and merged
    assert (again["counts"]["new_versions"], again["counts"]["inserted"]) == (N // 10, 0)
    history = await _fetch(fresh_db_url, """
        SELECT count(*) FILTER (WHERE version = 2 AND valid_to IS NULL) AS new,
               count(*) FILTER (WHERE version = 1 AND valid_to = '2025-01-01') AS closed,
               count(*) FILTER (WHERE valid_to IS NULL) AS current, count(DISTINCT fid) AS features
        FROM data.buildings""")
    assert tuple(history[0]) == (N // 10, N // 10, N, N)
    assert await _rollup_is_rebuilt_alike(fresh_db_url)
    # Who wrote each version, when and in which changeset: from the versions and one summary row per merge.
    audit = await _fetch(fresh_db_url, """
        SELECT b.op, b.features, c.actor, c.source, count(t.*) AS versions, min(t.recorded_at) = c.recorded_at AS same
        FROM onemap.bulk_changes b JOIN onemap.changesets c ON c.id = b.changeset_id
        JOIN data.buildings t ON t.changeset_id = b.changeset_id
             AND (t.version = 1) = (b.op = 'insert')
        GROUP BY b.op, b.features, c.actor, c.source, c.recorded_at ORDER BY b.op""")
    assert [tuple(r) for r in audit] == [("insert", N, "survey-team", "import", N, True),
                                        ("replace", N // 10, audit[1]["actor"], "import", N // 10, True)]


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "staged"])
async def test_a_load_that_more_than_doubles_the_layer_leaves_it_analyzed(
    fresh_db_url: str, run_import: Runner, tmp_path: Path, small_loads: list[int], monkeypatch: pytest.MonkeyPatch,
    streamed: bool,
) -> None:
    if not streamed:
        monkeypatch.setattr(initial_load, "begin", _never)
    clean = deliveries.synthetic_buildings(tmp_path / "clean.gpkg", count=N)
    code, report = await run_import("buildings", clean, "--valid-from", "2024-01-01", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == N and bool(small_loads) == streamed
    # analyze_count counts ANALYZE statements only (autovacuum's are autoanalyze_count).
    stats = await _fetch(fresh_db_url, """
        SELECT s.analyze_count, c.reltuples,
               (SELECT count(*) FROM pg_stats p WHERE p.schemaname = 'data' AND p.tablename = 'buildings'
                AND p.attname IN ('source_id', 'fid', 'valid_to')) AS columns
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'data.buildings'::regclass""")
    assert [tuple(r) for r in stats] == [(1, N, 3)]
