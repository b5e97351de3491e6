"""Re-deliveries skip unchanged source rows by fingerprint, without losing any check."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from shapely.geometry import box

from layers.db import connect
from layers.registry import Registry
from layers.versioning import open_changeset, update_feature
from tests import deliveries
from tests.deliveries import Runner

N = 600


@pytest.fixture
def surveys(tmp_path: Path) -> tuple[Path, Path]:
    first = deliveries.synthetic_buildings(tmp_path / "survey_2024.gpkg", count=N)
    second = deliveries.synthetic_buildings(tmp_path / "survey_2025.gpkg", count=N, changed_every=50)
    return first, second


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_first_import_records_fingerprints(fresh_db_url: str, run_import: Runner,
                                                 surveys: tuple[Path, Path]) -> None:
    code, report = await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == N
    rows = await _fetch(fresh_db_url, "SELECT count(*) AS n, count(DISTINCT src_hash) AS d FROM data.buildings "
                                      "WHERE src_hash IS NOT NULL AND octet_length(src_hash) = 16")
    assert rows[0]["n"] == N and rows[0]["d"] == N


async def test_same_delivery_again_is_skipped_row_by_row(fresh_db_url: str, run_import: Runner,
                                                         surveys: tuple[Path, Path]) -> None:
    await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    code, report = await run_import("buildings", surveys[0], "--valid-from", "2025-01-01", url=fresh_db_url)
    layer = report["layers"]["buildings"]
    assert code == 0
    assert (layer["skipped"], layer["unchanged"], layer["valid"], layer["new_versions"], layer["inserted"]) == (
        N, N, N, 0, 0)
    versions = await _fetch(fresh_db_url, "SELECT count(*) AS n FROM data.buildings")
    assert versions[0]["n"] == N


async def test_changed_rows_get_exactly_one_new_version(fresh_db_url: str, run_import: Runner,
                                                        surveys: tuple[Path, Path]) -> None:
    await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    code, report = await run_import("buildings", surveys[1], "--valid-from", "2025-01-01", url=fresh_db_url)
    changed = len(range(0, N, 50))
    layer = report["layers"]["buildings"]
    assert code == 0 and layer["new_versions"] == changed and layer["skipped"] == N - changed
    rows = await _fetch(fresh_db_url, "SELECT source_id, floors FROM data.buildings WHERE version = 2 ORDER BY 1")
    assert [r["source_id"] for r in rows] == [f"CS{k:07d}" for k in range(0, N, 50)]


async def test_an_edited_feature_is_compared_in_full(fresh_db_url: str, run_import: Runner,
                                                     surveys: tuple[Path, Path]) -> None:
    await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    conn = await connect(fresh_db_url)
    try:
        layer = (await Registry.load(conn)).get("buildings")
        fid = await conn.fetchval("SELECT fid FROM data.buildings WHERE source_id = 'CS0000003'")
        cs = await open_changeset(conn, actor="editor", source="test")
        await update_feature(conn, layer=layer, fid=fid, patch={"name": "改过的名字"}, geometry=None,
                             changeset_id=cs)
    finally:
        await conn.close()
    code, report = await run_import("buildings", surveys[0], "--valid-from", "2030-01-01", url=fresh_db_url)
    layer_counts = report["layers"]["buildings"]
    # The edit's version has no fingerprint, so the survey row is compared in SQL and differs.
    assert code == 0 and layer_counts["skipped"] == N - 1 and layer_counts["new_versions"] == 1
    names = await _fetch(fresh_db_url, "SELECT version, name FROM data.buildings WHERE source_id = 'CS0000003' "
                                       "ORDER BY version")
    assert [(r["version"], r["name"]) for r in names] == [(1, None), (2, "改过的名字"), (3, None)]


async def test_a_different_mapping_is_not_skipped(fresh_db_url: str, run_import: Runner,
                                                  surveys: tuple[Path, Path]) -> None:
    await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    code, report = await run_import("buildings", surveys[0], "--valid-from", "2025-01-01",
                                    "--set", "height_source=ghsl", url=fresh_db_url)
    layer = report["layers"]["buildings"]
    assert code == 0 and layer["skipped"] == 0 and layer["new_versions"] == N


async def test_duplicate_of_a_skipped_row_rejects_both(fresh_db_url: str, run_import: Runner,
                                                       tmp_path: Path, surveys: tuple[Path, Path]) -> None:
    await run_import("buildings", surveys[0], "--valid-from", "2024-01-01", url=fresh_db_url)
    dup = deliveries.with_extra_row(surveys[0], tmp_path / "dup.gpkg", copy_of=5,
                                    geometry=box(112.95, 28.19, 112.9501, 28.1901))
    code, report = await run_import("buildings", dup, "--valid-from", "2025-01-01", url=fresh_db_url)
    assert code != 0 and report["status"] == "refused"
    dup_rows = sorted(r["row"] for r in report["rejections"] if r["reasons"][0]["code"] == "duplicate")
    assert dup_rows == [6, N + 1]  # the unchanged original (skipped) and the extra copy
    versions = await _fetch(fresh_db_url, "SELECT count(*) AS n FROM data.buildings")
    assert versions[0]["n"] == N
