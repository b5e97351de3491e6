"""The versioned write path: insert, replace, update, retire — closing versions, never deleting."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from shapely.geometry import Point

from layers.errors import FeatureNotFound, FeatureRetired, InvalidValidTime, ValidationFailed, VersionConflict
from layers.model import Layer
from layers.reads import get_feature, history, list_features
from layers.temporal import AsOf, During
from layers.versioning import FeatureIn, insert_feature, replace_feature, retire_feature, update_feature

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
P = Point(112.97, 28.2)


def at(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


async def test_insert_then_replace_keeps_both_versions(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "A", "n": 1}),
                              changeset_id=changeset, valid_from=at(0))
    moved = FeatureIn(Point(112.98, 28.2), {"code": "A", "n": 2})
    v2 = await replace_feature(db, layer=sites, fid=v1.fid, feature=moved, changeset_id=changeset,
                               valid_from=at(10), expected_version=1)
    assert (v2.fid, v2.version, v2.version_before) == (v1.fid, 2, 1)
    versions = await history(db, layer=sites, fid=v1.fid)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].valid_to == at(10) and versions[0].superseded_at is not None
    assert versions[0].properties["n"] == 1 and versions[0].geometry["coordinates"] == [112.97, 28.2]
    assert versions[1].valid_to is None
    changes = await db.fetch("SELECT op, version_before, version_after FROM onemap.changes WHERE fid=$1 ORDER BY id",
                             v1.fid)
    assert [tuple(c) for c in changes] == [("insert", None, 1), ("replace", 1, 2)]


async def test_as_of_and_interval_reads(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "B", "n": 1}),
                              changeset_id=changeset, valid_from=at(0))
    await update_feature(db, layer=sites, fid=v1.fid, patch={"n": 5}, geometry=None, changeset_id=changeset,
                         valid_from=at(20))
    before = await get_feature(db, layer=sites, fid=v1.fid, at=at(5))
    after = await get_feature(db, layer=sites, fid=v1.fid, at=at(25))
    boundary = await get_feature(db, layer=sites, fid=v1.fid, at=at(20))
    ancient = await get_feature(db, layer=sites, fid=v1.fid, at=at(-1))
    assert before.row is not None and before.row.properties["n"] == 1
    assert after.row is not None and after.row.properties["n"] == 5
    assert boundary.row is not None and boundary.row.version == 2  # half-open: the new version owns the instant
    assert ancient.row is None and ancient.state == "current"
    spanning = await list_features(db, layer=sites, selection=During(at(10), at(30)))
    assert [(r.fid, r.version) for r in spanning] == [(v1.fid, 1), (v1.fid, 2)]
    assert await list_features(db, layer=sites, selection=AsOf(at(-5))) == []


async def test_patch_merges_and_null_clears(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "C", "kind": "a", "n": 3}),
                              changeset_id=changeset, valid_from=at(0))
    await update_feature(db, layer=sites, fid=v1.fid, patch={"kind": None, "n": 4}, geometry=None,
                         changeset_id=changeset, valid_from=at(1))
    now = await get_feature(db, layer=sites, fid=v1.fid)
    assert now.row is not None and now.row.properties == {"code": "C", "kind": None, "n": 4}
    assert now.row.geometry["coordinates"] == [112.97, 28.2]


async def test_retire_sets_end_time_and_keeps_history(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "D"}), changeset_id=changeset,
                              valid_from=at(0))
    gone = await retire_feature(db, layer=sites, fid=v1.fid, changeset_id=changeset, valid_to=at(30))
    assert gone.valid_to == at(30)
    lookup = await get_feature(db, layer=sites, fid=v1.fid)
    assert lookup.state == "retired" and lookup.row is None and lookup.latest is not None
    past = await get_feature(db, layer=sites, fid=v1.fid, at=at(29))
    assert past.row is not None
    assert await db.fetchval("SELECT count(*) FROM data.test_sites WHERE fid=$1", v1.fid) == 1
    with pytest.raises(FeatureRetired):
        await replace_feature(db, layer=sites, fid=v1.fid, feature=FeatureIn(P, {"code": "D"}), changeset_id=changeset)
    with pytest.raises(FeatureRetired):
        await retire_feature(db, layer=sites, fid=v1.fid, changeset_id=changeset)


async def test_lost_update_guard(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "E"}), changeset_id=changeset,
                              valid_from=at(0))
    await update_feature(db, layer=sites, fid=v1.fid, patch={"n": 1}, geometry=None, changeset_id=changeset,
                         expected_version=1, valid_from=at(1))
    with pytest.raises(VersionConflict):
        await update_feature(db, layer=sites, fid=v1.fid, patch={"n": 2}, geometry=None, changeset_id=changeset,
                             expected_version=1, valid_from=at(2))
    assert (await get_feature(db, layer=sites, fid=v1.fid)).row.properties["n"] == 1  # type: ignore[union-attr]


async def test_back_dated_edit_refused_and_nothing_changes(db: asyncpg.Connection, sites: Layer,
                                                           changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "F"}), changeset_id=changeset,
                              valid_from=at(10))
    with pytest.raises(InvalidValidTime):
        await update_feature(db, layer=sites, fid=v1.fid, patch={"n": 2}, geometry=None, changeset_id=changeset,
                             valid_from=at(5))
    versions = await history(db, layer=sites, fid=v1.fid)
    assert len(versions) == 1 and versions[0].valid_to is None


async def test_invalid_input_reports_every_field(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    with pytest.raises(ValidationFailed) as info:
        await insert_feature(db, layer=sites, feature=FeatureIn(Point(0, 0), {"kind": "z", "n": -1, "x": 1}),
                             changeset_id=changeset)
    fields = {e.field for e in info.value.errors}
    assert fields == {"code", "kind", "n", "x", "geometry"}
    assert await db.fetchval("SELECT count(*) FROM data.test_sites") == 0


async def test_unknown_fid(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    with pytest.raises(FeatureNotFound):
        await retire_feature(db, layer=sites, fid=999_999_999, changeset_id=changeset)
    assert (await get_feature(db, layer=sites, fid=999_999_999)).state == "missing"


async def test_same_instant_edit_is_a_correction(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    v1 = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "G", "n": 1}), changeset_id=changeset,
                              valid_from=at(0))
    await update_feature(db, layer=sites, fid=v1.fid, patch={"n": 9}, geometry=None, changeset_id=changeset,
                         valid_from=at(0))
    found = await get_feature(db, layer=sites, fid=v1.fid, at=at(0))
    assert found.row is not None and found.row.properties["n"] == 9
    assert len(await history(db, layer=sites, fid=v1.fid)) == 2  # the mistaken version stays on record
