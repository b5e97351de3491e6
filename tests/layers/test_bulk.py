"""Set-based versioned merges used by the importers and the sample loader."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import shapely
from shapely.geometry import Point

from layers.bulk import (
    copy_rows,
    create_staging,
    insert_all,
    retire_by_key,
    retire_missing_in_extent,
    upsert_by_key,
)
from layers.changes import feature_changes
from layers.errors import InvalidValidTime
from layers.model import Layer
from layers.reads import history, list_features

T1 = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
T2 = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)


def row(no: int, code: str, n: int, x: float, vf: dt.datetime | None = None) -> tuple[object, ...]:
    return (no, shapely.to_wkb(Point(x, 28.2)), vf, code, "a", n)


async def _stage(db: asyncpg.Connection, layer: Layer, rows: list[tuple[object, ...]]):  # type: ignore[no-untyped-def]
    staging = await create_staging(db, layer)
    assert await copy_rows(db, staging, rows) == len(rows)
    return staging


async def test_insert_all_assigns_fids_and_audits(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    staging = await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91), row(3, "C", 3, 112.92, T2)])
    counts = await insert_all(db, staging, changeset_id=changeset, valid_from=T1)
    assert counts.inserted == 3
    got = await list_features(db, layer=sites)
    assert sorted(r.properties["code"] for r in got) == ["A", "B", "C"]
    assert {r.properties["code"]: r.valid_from for r in got}["C"] == T2  # per-row valid_from wins
    # One bulk audit row for the merge, none per feature; expanded, it names each version.
    bulk_rows = await db.fetch("SELECT op, features, west, east FROM onemap.bulk_changes WHERE changeset_id=$1",
                               changeset)
    assert [(r["op"], r["features"]) for r in bulk_rows] == [("insert", 3)]
    assert bulk_rows[0]["west"] == pytest.approx(112.90) and bulk_rows[0]["east"] == pytest.approx(112.92)
    assert await db.fetchval("SELECT count(*) FROM onemap.changes WHERE changeset_id=$1", changeset) == 0
    expanded = await feature_changes(db, layer=sites, changeset_id=changeset)
    assert sorted((r["fid"], r["op"], r["version_before"], r["version_after"]) for r in expanded) == sorted(
        (r.fid, "insert", None, 1) for r in got)


async def test_upsert_versions_only_what_changed(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    await insert_all(db, await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91)]),
                     changeset_id=changeset, valid_from=T1)
    redelivery = await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 20, 112.91), row(3, "N", 5, 112.95)])
    counts = await upsert_by_key(db, redelivery, key=["code"], changeset_id=changeset, valid_from=T2)
    assert (counts.inserted, counts.new_versions, counts.unchanged) == (1, 1, 1)
    current = {r.properties["code"]: r for r in await list_features(db, layer=sites)}
    assert current["B"].version == 2 and current["B"].properties["n"] == 20 and current["B"].valid_from == T2
    assert current["A"].version == 1
    versions = await history(db, layer=sites, fid=current["B"].fid)
    assert [(v.version, v.properties["n"], v.valid_to) for v in versions] == [(1, 2, T2), (2, 20, None)]


async def test_upsert_detects_geometry_only_change(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    await insert_all(db, await _stage(db, sites, [row(1, "A", 1, 112.90)]), changeset_id=changeset, valid_from=T1)
    counts = await upsert_by_key(db, await _stage(db, sites, [row(1, "A", 1, 112.9001)]), key=["code"],
                                 changeset_id=changeset, valid_from=T2)
    assert counts.new_versions == 1


async def test_upsert_refuses_back_dated_delivery(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    await insert_all(db, await _stage(db, sites, [row(1, "A", 1, 112.90)]), changeset_id=changeset, valid_from=T2)
    with pytest.raises(InvalidValidTime):
        await upsert_by_key(db, await _stage(db, sites, [row(1, "A", 9, 112.90)]), key=["code"],
                            changeset_id=changeset, valid_from=T1)
    (only,) = await list_features(db, layer=sites)
    assert only.version == 1 and only.properties["n"] == 1


async def test_retire_missing_in_extent(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    first = [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91), row(3, "FAR", 3, 113.30)]
    await insert_all(db, await _stage(db, sites, first), changeset_id=changeset, valid_from=T1)
    survey = await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "C", 2, 112.92)])
    await upsert_by_key(db, survey, key=["code"], changeset_id=changeset, valid_from=T2)
    retired = await retire_missing_in_extent(db, survey, key=["code"], changeset_id=changeset, valid_to=T2)
    assert retired == 1  # B lay inside the survey's extent and was not delivered; FAR was outside it
    assert sorted(r.properties["code"] for r in await list_features(db, layer=sites)) == ["A", "C", "FAR"]
    b_fid = await db.fetchval("SELECT fid FROM data.test_sites WHERE code='B'")
    (b,) = await history(db, layer=sites, fid=b_fid)
    assert b.valid_to == T2


async def test_retire_by_key_and_its_refusal(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    await insert_all(db, await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91, T2)]),
                     changeset_id=changeset, valid_from=T1)
    # B began at T2, so a removal list dated T1 (before it existed) is refused as a whole.
    with pytest.raises(InvalidValidTime):
        await retire_by_key(db, await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91)]),
                            key=["code"], changeset_id=changeset, valid_to=T1 + dt.timedelta(days=1))
    assert sorted(r.properties["code"] for r in await list_features(db, layer=sites)) == ["A", "B"]
    removals = await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "GONE", 0, 112.99)])
    assert await retire_by_key(db, removals, key=["code"], changeset_id=changeset, valid_to=T2) == 1
    assert [r.properties["code"] for r in await list_features(db, layer=sites)] == ["B"]
    assert await db.fetchval("SELECT count(*) FROM onemap.changes WHERE changeset_id=$1 AND op='retire'",
                             changeset) == 1


async def test_replace_extent_refuses_to_retire_what_began_after_the_survey(
    db: asyncpg.Connection, sites: Layer, changeset: int
) -> None:
    await insert_all(db, await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "B", 2, 112.91)]),
                     changeset_id=changeset, valid_from=T2)
    survey = await _stage(db, sites, [row(1, "A", 1, 112.90), row(2, "C", 3, 112.92)])
    with pytest.raises(InvalidValidTime):  # B is missing from a survey dated before B existed
        await retire_missing_in_extent(db, survey, key=["code"], changeset_id=changeset, valid_to=T1)
    (b,) = [r for r in await list_features(db, layer=sites) if r.properties["code"] == "B"]
    assert b.valid_to is None and b.valid_from == T2
