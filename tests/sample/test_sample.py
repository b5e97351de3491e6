"""The sample city loaded for a small area of central Changsha, read back from a real PostGIS."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import shapely

from layers.db import connect
from layers.model import Layer
from layers.registry import Registry
from layers.schema import validate_properties
from sample import loader
from sample.build import sample_city
from sample.context import BEIJING
from sample.loader import SampleReport, load_sample
from sample.pipe_specs import FACILITY_MINOR, WELL_COVER_MINOR
from sample.sources import SampleDataMissing, find_data_dir
from sample.writer import Plan
from spatial.codelists.cjj61 import PLATFORM_CATEGORIES
from spatial.geometry import check_geometry

# Both banks of the Xiang around 橘子洲 and 五一广场: Yuelu OSM sample, river, metro stations, pipelines.
BBOX = (112.935, 28.175, 112.975, 28.200)
MINOR_CATEGORY = {minor: key for (key, _), minor in {**WELL_COVER_MINOR, **FACILITY_MINOR}.items()}
LOCAL_M = "ST_Transform({}, 4547)"
NOWHERE = "postgresql://nobody@127.0.0.1:9/none"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = find_data_dir()
    assert found is not None and (found / "changsha").is_dir(), "the repository's sample/data is missing"
    return found


@pytest.fixture(scope="module")
async def loaded(module_db_url: str, data_dir: Path) -> SampleReport:
    return await load_sample(module_db_url, data_dir=data_dir, bbox=BBOX)


@pytest.fixture
async def conn(module_db_url: str, loaded: SampleReport) -> AsyncIterator[asyncpg.Connection]:
    c = await connect(module_db_url)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def reg(conn: asyncpg.Connection) -> Registry:
    return await Registry.load(conn)


async def test_every_layer_with_data_in_the_area_is_loaded(loaded: SampleReport) -> None:
    assert not loaded.skipped
    empty = {layer_id for layer_id, (current, _) in loaded.counts.items() if current == 0}
    # Wangyue (望岳街道) and the OSM substations lie outside this box; everything else has data here.
    assert empty == {"admin_subdistricts", "power_facilities"}
    for key in PLATFORM_CATEGORIES:
        assert loaded.counts[f"pipeline_{key}_segments"][0] >= 100, key
        assert loaded.counts[f"pipeline_{key}_points"][0] >= 100, key
    assert set(loaded.rasters) == {"ghsl_built_volume", "ghsl_building_height", "ghsl_built_age"}
    assert [t[:4] for t in loaded.rasters["ghsl_built_volume"]] == ["1975", "1990", "2000", "2010", "2020"]


async def _all_versions(conn: asyncpg.Connection, layer: Layer) -> list[asyncpg.Record]:
    cols = ", ".join(f'"{f}"' for f in layer.attributes.names)
    return await conn.fetch(
        f"SELECT fid, version, valid_from, valid_to, ST_AsBinary(geom) AS wkb, {cols} FROM {layer.table}"
    )


async def test_every_stored_version_matches_its_schema(conn: asyncpg.Connection, reg: Registry) -> None:
    checked = 0
    for layer in reg.vector_layers():
        for row in await _all_versions(conn, layer):
            props = {name: row[name] for name in layer.attributes.names if row[name] is not None}
            _, errors = validate_properties(layer.attributes, props)
            assert not errors, (layer.id, row["fid"], row["version"], errors)
            geom, problems, _ = check_geometry(shapely.from_wkb(bytes(row["wkb"])), target=str(layer.geometry_type))
            assert geom is not None and not problems, (layer.id, row["fid"], problems)
            checked += 1
    assert checked > 20_000


@pytest.mark.parametrize("key", sorted(PLATFORM_CATEGORIES))
async def test_segment_ends_are_points_of_the_layer(conn: asyncpg.Connection, key: str) -> None:
    """Every current segment's 起始/终止点号 names a current point of its category lying at its end."""
    rows = await conn.fetch(
        f"""
        SELECT s.segment_no, ps.point_no AS sp, pe.point_no AS ep,
               ST_Distance({LOCAL_M.format('ST_StartPoint(s.geom)')}, {LOCAL_M.format('ps.geom')}) AS d0,
               ST_Distance({LOCAL_M.format('ST_EndPoint(s.geom)')}, {LOCAL_M.format('pe.geom')}) AS d1
        FROM data.pipeline_{key}_segments s
        LEFT JOIN data.pipeline_{key}_points ps ON ps.point_no = s.start_point AND ps.valid_to IS NULL
        LEFT JOIN data.pipeline_{key}_points pe ON pe.point_no = s.end_point AND pe.valid_to IS NULL
        WHERE s.valid_to IS NULL
        """
    )
    assert rows
    for r in rows:
        assert r["sp"] is not None and r["ep"] is not None, r["segment_no"]
        assert r["d0"] < 0.01 and r["d1"] < 0.01, (r["segment_no"], r["d0"], r["d1"])


@pytest.mark.parametrize("key", sorted(PLATFORM_CATEGORIES))
async def test_points_existed_whenever_their_segments_did(conn: asyncpg.Connection, key: str) -> None:
    """As of any past instant, a segment valid then has both its points valid then."""
    for year in (1985, 2000, 2010, 2020):
        at = dt.datetime(year, 6, 30, tzinfo=BEIJING)
        missing = await conn.fetchval(
            f"""
            SELECT count(*) FROM data.pipeline_{key}_segments s
            WHERE tstzrange(s.valid_from, s.valid_to) @> $1::timestamptz
              AND (SELECT count(DISTINCT p.point_no) FROM data.pipeline_{key}_points p
                   WHERE p.point_no IN (s.start_point, s.end_point)
                     AND tstzrange(p.valid_from, p.valid_to) @> $1::timestamptz) < 2
            """,
            at,
        )
        assert missing == 0, (key, year)


async def test_components_sit_on_their_wells(conn: asyncpg.Connection) -> None:
    """A linked component lies within 1 m of a current pipeline point of the category its 小类 names."""
    rows = await conn.fetch(
        "SELECT obj_code, minor_code, pipe_point_fid, geom FROM data.city_components "
        "WHERE valid_to IS NULL AND pipe_point_fid IS NOT NULL"
    )
    assert len(rows) > 1000
    by_category: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        by_category[MINOR_CATEGORY[r["minor_code"]]].append(r)
    assert {"water", "sewage", "storm", "power", "streetlight", "telecom", "gas", "signal"} <= set(by_category)
    for key, members in by_category.items():
        minors = sorted({m["minor_code"] for m in members})
        found = await conn.fetch(
            f"""
            SELECT c.obj_code, p.appurtenance,
                   ST_Distance({LOCAL_M.format('c.geom')}, {LOCAL_M.format('p.geom')}) AS d
            FROM data.city_components c JOIN data.pipeline_{key}_points p
              ON p.fid = c.pipe_point_fid AND p.valid_to IS NULL
            WHERE c.valid_to IS NULL AND c.minor_code = ANY($1::text[])
            """,
            minors,
        )
        assert len(found) == len(members), key
        wanted = {kind for (k, kind) in {**WELL_COVER_MINOR, **FACILITY_MINOR} if k == key}
        for f in found:
            assert f["d"] <= 1.0, (f["obj_code"], f["d"])
            assert f["appurtenance"] in wanted, (key, f["obj_code"], f["appurtenance"])


async def test_components_carry_the_grid_cell_they_stand_in(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """
        SELECT c.obj_code, c.grid_code, array_agg(g.grid_code) AS cells
        FROM data.city_components c
        JOIN data.grid_cells g ON g.valid_to IS NULL AND ST_Intersects(g.geom, c.geom)
        WHERE c.valid_to IS NULL
        GROUP BY c.obj_code, c.grid_code
        """
    )
    assert len(rows) > 1000
    for r in rows:
        assert r["grid_code"] in r["cells"], (r["obj_code"], r["grid_code"], r["cells"])
        assert r["obj_code"][:6] == r["grid_code"][:6]


async def test_grid_cells_are_numbered_west_to_east_north_to_south(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        f"""
        SELECT grid_code, community_no, street_no, district_adcode,
               ST_X({LOCAL_M.format('ST_PointOnSurface(geom)')}) AS x,
               ST_Y({LOCAL_M.format('ST_PointOnSurface(geom)')}) AS y
        FROM data.grid_cells WHERE valid_to IS NULL
        """
    )
    communities: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for r in rows:
        code = r["grid_code"]
        assert len(code) == 14 and code.startswith(r["district_adcode"] + r["street_no"] + r["community_no"])
        # The 100 m lattice square (column, row) holding the cell, clipped or not.
        communities[code[:12]].append((int(code[12:]), int(r["x"] // 100), int(r["y"] // 100)))
    assert len(communities) > 20
    for cells in communities.values():
        cells.sort()
        seqs = [c[0] for c in cells]
        # The bbox cuts some 社区, so numbers need not start at 1; they are unique and never above 99.
        assert len(set(seqs)) == len(seqs) and seqs[-1] <= 99
        reading = sorted(cells, key=lambda c: (-c[2], c[1]))
        assert [c[0] for c in reading] == seqs


async def test_gravity_drains_fall_downstream(conn: asyncpg.Connection) -> None:
    """Invert elevation (ground − depth) of 顺向 sewage and storm segments never rises along the flow."""
    for key in ("sewage", "storm"):
        rows = await conn.fetch(
            f"""
            SELECT s.segment_no, ps.ground_elev_m - s.start_depth_m AS inv0, pe.ground_elev_m - s.end_depth_m AS inv1
            FROM data.pipeline_{key}_segments s
            JOIN data.pipeline_{key}_points ps ON ps.point_no = s.start_point AND ps.valid_to IS NULL
            JOIN data.pipeline_{key}_points pe ON pe.point_no = s.end_point AND pe.valid_to IS NULL
            WHERE s.valid_to IS NULL AND s.flow_direction = '顺向'
              AND s.start_depth_m < 8 AND s.end_depth_m < 8
            """
        )
        assert len(rows) > 100
        for r in rows:
            assert r["inv1"] <= r["inv0"] + 1e-6, (key, r["segment_no"], r["inv0"], r["inv1"])


async def test_history_spans_several_epochs(conn: asyncpg.Connection) -> None:
    multi = {}
    for layer_id in ("pipeline_water_segments", "pipeline_sewage_segments", "pipeline_gas_segments",
                     "pipeline_gas_points", "pipeline_telecom_segments", "streets_sample", "landuse",
                     "city_components"):
        multi[layer_id] = await conn.fetchval(
            f"SELECT count(*) FROM (SELECT fid FROM data.{layer_id} GROUP BY fid HAVING count(*) >= 2) x"
        )
    assert all(n > 0 for n in multi.values()), multi
    # Versions are closed, never overwritten: every closed version has a successor starting then, or is retired.
    gaps = await conn.fetchval(
        """
        SELECT count(*) FROM data.pipeline_water_segments a
        WHERE a.valid_to IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM data.pipeline_water_segments b
          WHERE b.fid = a.fid AND b.version = a.version + 1 AND b.valid_from = a.valid_to)
        """
    )
    retired = await conn.fetchval(
        "SELECT count(*) FROM data.pipeline_water_segments a WHERE a.valid_to IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM data.pipeline_water_segments b WHERE b.fid = a.fid AND b.version > a.version)"
    )
    assert gaps == retired
    # Grey cast iron gave way to ductile iron: material changed between versions of one pipe.
    replaced = await conn.fetchval(
        """
        SELECT count(*) FROM data.pipeline_water_segments a JOIN data.pipeline_water_segments b
          ON b.fid = a.fid AND b.version = a.version + 1
        WHERE a.material = 'ZT' AND b.material = 'QM' AND b.build_year > a.build_year
        """
    )
    assert replaced > 0
    decades = await conn.fetch(
        "SELECT DISTINCT (extract(year FROM valid_from)::int / 10) AS d FROM data.pipeline_sewage_segments"
    )
    assert len(decades) >= 4
    as_of_1990 = await conn.fetchval(
        "SELECT count(*) FROM data.pipeline_storm_segments WHERE tstzrange(valid_from, valid_to) @> $1::timestamptz",
        dt.datetime(1990, 1, 1, tzinfo=BEIJING),
    )
    now = await conn.fetchval("SELECT count(*) FROM data.pipeline_storm_segments WHERE valid_to IS NULL")
    assert 0 < as_of_1990 < now


async def test_changesets_name_each_history_event(conn: asyncpg.Connection) -> None:
    notes = await conn.fetch("SELECT note, details FROM onemap.changesets WHERE source = 'sample'")
    roles = [n["details"]["role"] for n in notes]
    assert roles.count("marker") == 1
    events = {n["note"] for n in notes if n["details"]["role"] == "history"}
    assert any("球墨铸铁" in e for e in events)
    assert any("雨污分流" in e for e in events)
    assert any("天然气" in e for e in events)
    assert all(e.startswith("示例数据") for e in events)


async def test_second_load_is_skipped(module_db_url: str, data_dir: Path, loaded: SampleReport) -> None:
    again = await load_sample(module_db_url, data_dir=data_dir, bbox=BBOX)
    assert again.skipped
    assert again.counts == loaded.counts
    # A different area does not add to a loaded sample either.
    other = await load_sample(module_db_url, data_dir=data_dir, bbox=(112.98, 28.20, 112.99, 28.21))
    assert other.skipped and other.counts == loaded.counts


async def test_failure_leaves_nothing_behind(fresh_db_url: str, data_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(build: Any) -> dict[str, Any]:
        raise RuntimeError("injected failure after the pipelines were written")

    monkeypatch.setattr(loader, "STEPS", [*loader.STEPS[:-1], broken])
    with pytest.raises(RuntimeError, match="injected"):
        await load_sample(fresh_db_url, data_dir=data_dir, bbox=BBOX)
    c = await connect(fresh_db_url)
    try:
        registry = await Registry.load(c)
        counts = await loader.layer_counts(c, registry)
        changesets = await c.fetchval("SELECT count(*) FROM onemap.changesets")
        changes = await c.fetchval("SELECT count(*) FROM onemap.changes")
    finally:
        await c.close()
    assert all(total == 0 for _, total in counts.values()), counts
    assert changesets == 0 and changes == 0


# The northern edge of the urban core, where the OSM building snapshot is dense (望城/开福).
NORTH = (112.86, 28.255, 112.94, 28.29)
GHSL_EPOCHS = ((0, 1979), (1980, 1989), (1990, 1999), (2000, 2009), (2010, 2020), (2021, 2030))


async def test_buildings_take_their_valid_time_from_ghsl_age(fresh_db_url: str, data_dir: Path) -> None:
    await load_sample(fresh_db_url, data_dir=data_dir, bbox=NORTH)
    c = await connect(fresh_db_url)
    try:
        rows = await c.fetch("SELECT year_built, year_source, valid_from, height_m, floors FROM data.buildings")
        counts = [await c.fetchval(
            "SELECT count(*) FROM data.buildings WHERE tstzrange(valid_from, valid_to) @> $1::timestamptz",
            dt.datetime(year, 1, 1, tzinfo=BEIJING)) for year in (1990, 2005, 2015)]
        now = await c.fetchval("SELECT count(*) FROM data.buildings WHERE valid_to IS NULL")
    finally:
        await c.close()
    assert len(rows) > 1000
    epochs = set()
    for r in rows:
        assert r["year_source"] == "ghsl_age"
        assert r["valid_from"].astimezone(BEIJING).year == r["year_built"]
        assert r["height_m"] > 0 and r["floors"] >= 1
        epochs.add(next(i for i, (lo, hi) in enumerate(GHSL_EPOCHS) if lo <= r["year_built"] <= hi))
    assert len(epochs) >= 5
    assert counts[0] < counts[1] < counts[2] < now


@pytest.mark.slow
async def test_full_city_holds_exactly_what_was_planned(fresh_db_url: str, data_dir: Path) -> None:
    """The whole sample city: every layer filled, and the write path made exactly the planned history."""
    report = await load_sample(fresh_db_url, data_dir=data_dir)
    assert all(current > 0 for current, _ in report.counts.values()), report.counts
    city = sample_city(data_dir)
    planned: dict[str, list[Plan]] = {
        "streets_sample": city.street_plans, "grid_cells": city.grid_plans, "landuse": city.landuse_plans,
        "city_components": city.component_plans,
        **{f"pipeline_{k}_segments": v for k, v in city.segment_plans.items()},
        **{f"pipeline_{k}_points": v for k, v in city.point_plans.items()},
    }
    for layer_id, plans in planned.items():
        current = sum(1 for p in plans if p.retired_at is None)
        versions = sum(len(p.versions) for p in plans)
        assert report.counts[layer_id] == (current, versions), layer_id
    assert report.counts["buildings"][0] > 9000
    assert report.counts["admin_districts"] == (10, 10)
    assert report.counts["admin_subdistricts"] == (1, 1)


@pytest.mark.parametrize("bbox", [(113.0, 28.2, 112.9, 28.3), (28.2, 112.9, 28.3, 113.0), (100.0, 20.0, 101.0, 21.0)])
async def test_a_bbox_outside_changsha_or_swapped_is_refused(data_dir: Path,
                                                             bbox: tuple[float, float, float, float]) -> None:
    # Refused before any connection is tried, so the URL need not lead anywhere.
    with pytest.raises(loader.InvalidSampleBbox, match="EPSG:4490"):
        await load_sample(NOWHERE, data_dir=data_dir, bbox=bbox)


async def test_missing_source_data_is_named(tmp_path: Path) -> None:
    (tmp_path / "changsha").mkdir()
    with pytest.raises(SampleDataMissing, match="ONEMAP_DATA_DIR") as caught:
        await load_sample(NOWHERE, data_dir=tmp_path)
    assert "osm_buildings_changsha_partial.geojson" in str(caught.value)
