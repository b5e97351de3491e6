"""Derived building columns (layers/derived.py): filled by every write, one value per version, indexed,
added to an older table by the registry sync, and never shown as a layer field."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from analysis.inputs import to_metric
from layers.features import select_list
from layers.registry import Registry, sync_builtin
from layers.versioning import FeatureIn, insert_feature, open_changeset, update_feature

# An L-shaped footprint: its centroid lies outside it, its point on surface never does.
L_SHAPE = MultiPolygon([Polygon([(112.97, 28.2), (112.9710, 28.2), (112.9710, 28.2002), (112.9702, 28.2002),
                                 (112.9702, 28.2010), (112.97, 28.2010), (112.97, 28.2)])])


async def _write(db: asyncpg.Connection) -> int:
    layer = (await Registry.load(db)).get("buildings")
    cs = await open_changeset(db, actor="pytest", source="test")
    ref = await insert_feature(db, layer=layer, changeset_id=cs, valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                               feature=FeatureIn(L_SHAPE, {"source_id": "L1", "use": "residential"}))
    moved = shapely.affinity.translate(L_SHAPE, 0.001, 0.0)
    await update_feature(db, layer=layer, fid=ref.fid, patch={}, geometry=moved, changeset_id=cs,
                         valid_from=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    return ref.fid


async def test_every_version_has_its_metric_area_and_a_point_inside(db: asyncpg.Connection) -> None:
    fid = await _write(db)
    rows = await db.fetch("SELECT version, footprint_m2, ST_AsBinary(surface_point) AS pt, ST_AsBinary(geom) AS g "
                          "FROM data.buildings WHERE fid = $1 ORDER BY version", fid)
    assert [r["version"] for r in rows] == [1, 2]
    for r in rows:
        geom = shapely.from_wkb(bytes(r["g"]))
        assert r["footprint_m2"] == pytest.approx(to_metric(geom).area, rel=1e-6)
        assert geom.intersects(shapely.from_wkb(bytes(r["pt"])))
    assert not L_SHAPE.contains(L_SHAPE.centroid)  # so the point on surface matters
    assert rows[0]["pt"] != rows[1]["pt"]  # the moved version has its own point


async def test_indexed_and_not_a_field(db: asyncpg.Connection) -> None:
    layer = (await Registry.load(db)).get("buildings")
    assert "footprint_m2" not in select_list(layer) and "surface_point" not in select_list(layer)
    assert await db.fetchval("SELECT count(*) FROM pg_indexes WHERE schemaname = 'data' "
                             "AND indexname = 'buildings_cur_surface_point'") == 1


async def test_an_older_table_gets_them_from_the_sync(db: asyncpg.Connection) -> None:
    fid = await _write(db)
    await db.execute("ALTER TABLE data.buildings DROP COLUMN footprint_m2, DROP COLUMN surface_point")
    await sync_builtin(db)
    filled = await db.fetchval("SELECT count(*) FROM data.buildings WHERE fid = $1 AND footprint_m2 > 0 "
                               "AND surface_point IS NOT NULL", fid)
    assert filled == 2
    assert await db.fetchval("SELECT count(*) FROM pg_indexes WHERE indexname = 'buildings_cur_surface_point'") == 1
