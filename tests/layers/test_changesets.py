"""Multi-edit changesets, undo, pipe topology and bulk edits at the layers level (real PostGIS,
inside the test's rolled-back transaction)."""

from __future__ import annotations

import asyncpg
import pytest
import shapely
from shapely.geometry import LineString, Point

from layers.bulk_edit import apply_bulk_edit, count_matched, selection
from layers.changesets import Edit, apply_edits, stale_edits
from layers.errors import FeatureNotFound, TopologyConflict, UndoConflict, ValidationFailed
from layers.model import Layer
from layers.query import cql2
from layers.registry import Registry
from layers.undo import undo_changeset
from layers.versioning import FeatureIn, insert_feature, replace_feature, retire_feature, update_feature

P = Point(112.97, 28.2)


async def current(db: asyncpg.Connection, fid: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await db.fetchrow(
        "SELECT version, n, kind, ST_AsText(geom) AS wkt FROM data.test_sites WHERE fid = $1 AND valid_to IS NULL", fid
    )
    return row


async def test_a_failing_edit_leaves_nothing(db: asyncpg.Connection, sites: Layer) -> None:
    changesets = await db.fetchval("SELECT count(*) FROM onemap.changesets")
    edits = [Edit(0, "insert", sites, geometry=P, properties={"code": "NEW"}),
             Edit(1, "update", sites, fid=999_999_999, properties={"n": 1})]
    with pytest.raises(FeatureNotFound) as caught:
        async with db.transaction():
            await apply_edits(db, edits, actor="pytest", comment="x", valid_from=None)
    assert caught.value.index == 1  # type: ignore[attr-defined]
    assert await db.fetchval("SELECT count(*) FROM data.test_sites WHERE code = 'NEW'") == 0
    assert await db.fetchval("SELECT count(*) FROM onemap.changesets") == changesets
    with pytest.raises(ValidationFailed) as invalid:
        await apply_edits(db, [Edit(0, "insert", sites, geometry=P, properties={"code": "A", "n": -1}),
                               Edit(1, "insert", sites, geometry=P, properties={"kind": "z"})],
                          actor="pytest", comment=None, valid_from=None)
    assert {(e.index, e.field) for e in invalid.value.errors} == {(0, "n"), (1, "code"), (1, "kind")}


async def test_comment_stale_versions_and_undo(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    a = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "A", "n": 1, "kind": "a"}),
                             changeset_id=changeset)
    b = await insert_feature(db, layer=sites, feature=FeatureIn(P, {"code": "B"}), changeset_id=changeset)
    stale = await stale_edits(db, [Edit(0, "retire", sites, fid=a.fid, expected_version=2)])
    assert [(s.index, s.current_version) for s in stale] == [(0, 1)]
    cs, written = await apply_edits(db, [
        Edit(0, "update", sites, fid=a.fid, expected_version=1, properties={"n": 2, "kind": None}),
        Edit(1, "retire", sites, fid=b.fid),
        Edit(2, "insert", sites, geometry=P, properties={"code": "C"}),
    ], actor="pytest", comment="补测更正", valid_from=None)
    assert await db.fetchval("SELECT details->>'comment' FROM onemap.changesets WHERE id = $1", cs) == "补测更正"
    c = written[2].ref.fid
    undo = await undo_changeset(db, cs, actor="admin", comment="撤销", force=False,
                                layer_of=lambda _: sites)
    a_now, b_now = await current(db, a.fid), await current(db, b.fid)
    assert a_now is not None and (a_now["version"], a_now["n"], a_now["kind"]) == (3, 1, "a")
    assert b_now is not None and b_now["version"] == 2
    assert await current(db, c) is None
    details = await db.fetchval("SELECT details FROM onemap.changesets WHERE id = $1", cs)
    assert details["undone_by"] == undo
    # The undo edited the same features afterwards, so undoing the original again needs force.
    with pytest.raises(UndoConflict) as refused:
        await undo_changeset(db, cs, actor="admin", comment=None, force=False, layer_of=lambda _: sites)
    assert {f["changeset"] for f in refused.value.features} == {undo}


async def pipes(db: asyncpg.Connection) -> tuple[Layer, Layer]:
    registry = await Registry.load(db)
    return registry.get("pipeline_water_points"), registry.get("pipeline_water_segments")


def point_props(no: str) -> dict[str, object]:
    return {"point_no": no, "category": "JS", "subcategory": "JY", "feature_point": "ST", "status": "0"}


def segment_props(no: str, start: str, end: str) -> dict[str, object]:
    return {"segment_no": no, "category": "JS", "subcategory": "JY", "start_point": start, "end_point": end,
            "start_depth_m": 1.0, "end_depth_m": 1.2, "material": "PE", "diameter_mm": 150, "status": "0"}


async def test_segments_follow_a_moved_point_and_block_its_retirement(db: asyncpg.Connection, changeset: int) -> None:
    points, segments = await pipes(db)
    p1 = await insert_feature(db, layer=points, feature=FeatureIn(Point(112.95, 28.18), point_props("T-1")),
                              changeset_id=changeset)
    await insert_feature(db, layer=points, feature=FeatureIn(Point(112.96, 28.18), point_props("T-2")),
                         changeset_id=changeset)
    line = LineString([(112.95, 28.18), (112.955, 28.181), (112.96, 28.18)])
    s = await insert_feature(db, layer=segments, feature=FeatureIn(line, segment_props("T-S", "T-1", "T-2")),
                             changeset_id=changeset)
    moved = await update_feature(db, layer=points, fid=p1.fid, patch={}, geometry=Point(112.949, 28.179),
                                 changeset_id=changeset)
    assert [(d.collection, d.fid, d.version) for d in moved.derived] == [(segments.id, s.fid, 2)]
    wkb = await db.fetchval("SELECT ST_AsBinary(geom) FROM data.pipeline_water_segments WHERE fid = $1 "
                            "AND valid_to IS NULL", s.fid)
    assert list(shapely.from_wkb(bytes(wkb)).coords) == [(112.949, 28.179), (112.955, 28.181), (112.96, 28.18)]
    with pytest.raises(TopologyConflict) as refused:
        await retire_feature(db, layer=points, fid=p1.fid, changeset_id=changeset)
    assert refused.value.segments == [{"collection": segments.id, "id": s.fid, "point": "start"}]
    with pytest.raises(TopologyConflict):
        await replace_feature(db, layer=points, fid=p1.fid, changeset_id=changeset,
                              feature=FeatureIn(Point(112.949, 28.179), point_props("T-9")))


async def test_bulk_edit_matches_raw_rows(db: asyncpg.Connection, sites: Layer, changeset: int) -> None:
    for i in range(12):
        await insert_feature(db, layer=sites, feature=FeatureIn(Point(112.9 + i * 0.001, 28.2),
                                                                 {"code": f"K{i}", "n": i}), changeset_id=changeset)
    sel = selection(sites, cql2.parse("n >= 5", lang="cql2-text"),
                    {"type": "Polygon", "coordinates": [[[112.9045, 28.19], [112.92, 28.19], [112.92, 28.21],
                                                         [112.9045, 28.21], [112.9045, 28.19]]]})
    raw = await db.fetchval("SELECT count(*) FROM data.test_sites WHERE valid_to IS NULL AND n >= 5 "
                            "AND ST_X(geom) > 112.9045")
    assert raw == 7 and await count_matched(db, sel) == raw
    cs, fids = await apply_bulk_edit(db, sel, {"kind": "b"}, actor="pytest", comment="批量", valid_from=None,
                                     filter_text="n >= 5")
    assert len(fids) == raw
    assert await db.fetchval("SELECT count(*) FROM data.test_sites WHERE valid_to IS NULL AND kind = 'b'") == raw
    assert await db.fetchval("SELECT count(*) FROM onemap.changes WHERE changeset_id = $1 AND op = 'update' "
                             "AND version_before = 1 AND version_after = 2", cs) == raw
