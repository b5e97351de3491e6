"""Both audit tables read as one: per-feature rows and bulk merges' summary rows (layers/changes.py)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import shapely
from shapely.geometry import Point

from layers.bulk import copy_rows, create_staging, insert_all, retire_by_key, upsert_by_key
from layers.changes import bulk_boxes, feature_changes, latest_change_id
from layers.model import Layer
from layers.query.history import audit_trail, version_rows
from layers.versioning import FeatureIn, open_changeset, replace_feature

T1 = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)


def _row(no: int, code: str, n: int, x: float) -> tuple[object, ...]:
    return (no, shapely.to_wkb(Point(x, 28.2)), None, code, "a", n)


async def _merge(
    db: asyncpg.Connection, sites: Layer, rows: list[tuple[object, ...]], cs: int, at: dt.datetime
) -> None:
    staging = await create_staging(db, sites)
    await copy_rows(db, staging, rows)
    await upsert_by_key(db, staging, key=["code"], changeset_id=cs, valid_from=at)


async def test_a_bulk_merge_is_one_row_per_operation_and_expands_per_feature(
    db: asyncpg.Connection, sites: Layer
) -> None:
    first = await open_changeset(db, actor="pytest", source="test")
    staging = await create_staging(db, sites)
    await copy_rows(db, staging, [_row(1, "A", 1, 112.90), _row(2, "B", 2, 112.91)])
    await insert_all(db, staging, changeset_id=first, valid_from=T1)
    second = await open_changeset(db, actor="pytest", source="test")
    await _merge(db, sites, [_row(1, "A", 1, 112.90), _row(2, "B", 20, 112.95), _row(3, "C", 3, 112.93)], second, T2)

    summary = await db.fetch("SELECT changeset_id, op, features, west, east FROM onemap.bulk_changes ORDER BY id")
    assert [(r["changeset_id"], r["op"], r["features"]) for r in summary] == [
        (first, "insert", 2), (second, "replace", 1), (second, "insert", 1)]
    # The replacement's extent covers B's old place (112.91) and its new one (112.95).
    assert summary[1]["west"] == pytest.approx(112.91) and summary[1]["east"] == pytest.approx(112.95)
    assert await db.fetchval("SELECT count(*) FROM onemap.changes") == 0

    fids = {r["code"]: r["fid"] for r in await db.fetch("SELECT DISTINCT fid, code FROM data.test_sites")}
    mutations = [(r["changeset_id"], r["fid"], r["op"], r["version_before"], r["version_after"])
                 for r in await feature_changes(db, layer=sites)]
    assert mutations == [(first, fids["A"], "insert", None, 1), (first, fids["B"], "insert", None, 1),
                         (second, fids["B"], "replace", 1, 2), (second, fids["C"], "insert", None, 1)]
    assert [r["fid"] for r in await feature_changes(db, layer=sites, changeset_id=second)] == [fids["B"], fids["C"]]
    assert [r["op"] for r in await version_rows(db, layer=sites, fid=fids["B"])] == ["insert", "replace"]

    # The tile caches' watermark and catch-up see the merges too.
    assert await latest_change_id(db) == await db.fetchval("SELECT max(id) FROM onemap.bulk_changes")
    boxes = await bulk_boxes(db, after_change_id=0)
    assert len(boxes["test_sites"]) == 3


async def test_ids_run_through_both_tables_and_mixed_changesets_are_not_counted_twice(
    db: asyncpg.Connection, sites: Layer
) -> None:
    cs = await open_changeset(db, actor="pytest", source="test")
    staging = await create_staging(db, sites)
    await copy_rows(db, staging, [_row(1, "A", 1, 112.90), _row(2, "B", 2, 112.91)])
    await insert_all(db, staging, changeset_id=cs, valid_from=T1)
    fid_a = await db.fetchval("SELECT fid FROM data.test_sites WHERE code = 'A'")
    # The sample writer's way: a per-feature replacement and a bulk one in the same changeset.
    later = await open_changeset(db, actor="pytest", source="test")
    await replace_feature(db, layer=sites, fid=fid_a, feature=FeatureIn(Point(112.92, 28.2), {"code": "A", "n": 5}),
                          changeset_id=later, valid_from=T2)
    await _merge(db, sites, [_row(1, "B", 7, 112.91)], later, T2)
    staging = await create_staging(db, sites, suffix="_gone")
    await copy_rows(db, staging, [_row(1, "B", 7, 112.91)])
    await retire_by_key(db, staging, key=["code"], changeset_id=later, valid_to=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    mutations = await feature_changes(db, layer=sites, changeset_id=later)
    ops = [(r["fid"] == fid_a, r["op"], r["version_after"]) for r in mutations]
    assert sorted(ops) == sorted([(True, "replace", 2), (False, "replace", 2), (False, "retire", 2)])
    ids = [r["id"] for r in mutations]
    assert ids == sorted(ids) and len(set(ids)) == 3  # one sequence for both tables
    assert await latest_change_id(db) == max(ids)


async def test_the_audit_trail_shows_a_merge_once_per_layer_and_per_version_per_feature(
    db: asyncpg.Connection, sites: Layer
) -> None:
    cs = await open_changeset(db, actor="importer", source="import", note="survey 2021")
    staging = await create_staging(db, sites)
    await copy_rows(db, staging, [_row(i, f"K{i}", i, 112.90 + i / 1000) for i in range(50)])
    await insert_all(db, staging, changeset_id=cs, valid_from=T1)
    later = await open_changeset(db, actor="importer", source="import", note="survey 2023")
    await _merge(db, sites, [_row(0, "K0", 99, 112.90)], later, T2)

    trail = await audit_trail(db, layer=sites, fid=None, before=None, limit=10)
    assert [(r["op"], r["fid"], r["features"], r["note"]) for r in trail] == [
        ("replace", None, 1, "survey 2023"), ("insert", None, 50, "survey 2021")]
    fid = await db.fetchval("SELECT fid FROM data.test_sites WHERE code = 'K0' AND version = 2")
    one = await audit_trail(db, layer=sites, fid=fid, before=None, limit=10)
    assert [(r["op"], r["version_before"], r["version_after"], r["actor"]) for r in one] == [
        ("replace", 1, 2, "importer"), ("insert", None, 1, "importer")]
    older = await audit_trail(db, layer=sites, fid=fid, before=one[0]["id"], limit=10)
    assert [r["op"] for r in older] == ["insert"]
