"""Buildings, boundaries, grid cells and land use: GCJ-02 captures, re-surveys, replace-extent, repairs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import asyncpg
import numpy as np
import pyogrio
import shapely
from pyogrio.raw import write
from shapely.geometry import Polygon, shape

from layers.db import connect
from spatial import offsets
from tests import deliveries
from tests.deliveries import Runner


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_gcj02_capture_is_stored_back_in_cgcs2000(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    _path, originals = deliveries.gcj02_buildings(Path(delivered["gcj02_buildings"]), count=200)
    code, report = await run_import("buildings", delivered["gcj02_buildings"], "--crs", "gcj02", url=fresh_db_url)
    assert code == 0, report["rejections"][:2]
    assert report["counts"]["inserted"] == 200
    assert report["sources"][0]["crs"]["crs"] == "gcj02"
    stored = {r["source_id"]: shape(json.loads(r["g"])) for r in await _fetch(
        fresh_db_url, "SELECT source_id, ST_AsGeoJSON(geom, 12) g FROM data.buildings")}
    worst = 0.0
    for f in originals:
        p = f["properties"]
        got = stored[f"{p['osm_type']}/{p['osm_id']}"]
        want = shape(f["geometry"])
        a, b = shapely.get_coordinates(got), shapely.get_coordinates(want)
        assert a.shape == b.shape
        worst = max(worst, float(np.max(np.abs(a - b))))
    assert worst * 111_000 < 0.01  # the iterative inverse lands within a centimetre of the WGS84 original

    # The same capture read as if it were CGCS2000 would be ~600 m off: the flag matters.
    code, report = await run_import("buildings", delivered["gcj02_buildings"], url=fresh_db_url)
    assert code == 0 and report["counts"]["new_versions"] == 200


async def test_resurvey_with_replace_extent_retires_what_is_gone(fresh_db_url: str, run_import: Runner,
                                                                 tmp_path: Path) -> None:
    first = deliveries.synthetic_buildings(tmp_path / "a.gpkg", count=3000)
    code, report = await run_import("buildings", first, "--valid-from", "2023-01-01", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == 3000
    # The re-survey of the first 2000 buildings: every 100th changed, and 10 demolished (left out).
    second = deliveries.synthetic_buildings(tmp_path / "b.gpkg", count=2000, changed_every=100)
    meta, _f, geoms, values = pyogrio.raw.read(second)
    keep = np.ones(len(geoms), dtype=bool)
    keep[1500:1510] = False
    write(str(tmp_path / "c.gpkg"), geoms[keep], [v[keep] for v in values], list(meta["fields"]),
          geometry_type="Polygon", crs="EPSG:4490", driver="GPKG")
    code, report = await run_import("buildings", tmp_path / "c.gpkg", "--mode", "replace-extent",
                                    "--valid-from", "2024-06-01", url=fresh_db_url)
    assert code == 0, report["decision"]
    c = report["counts"]
    # Buildings 2000-2999 lie in the next block rows, outside this survey's extent: untouched.
    # Changed: every 100th of 2000 (20), but building 1500 is among the demolished.
    assert (c["new_versions"], c["unchanged"], c["retired"], c["inserted"]) == (19, 1971, 10, 0)
    rows = await _fetch(fresh_db_url, "SELECT count(*) FILTER (WHERE valid_to IS NULL) cur, count(*) total, "
                                      "count(*) FILTER (WHERE valid_to = '2024-06-01 00:00+08') closed "
                                      "FROM data.buildings")
    assert tuple(rows[0]) == (3000 - 10, 3000 + 19, 29)
    ops = await _fetch(fresh_db_url, "SELECT op, count(*) n FROM onemap.changes WHERE changeset_id = $1 GROUP BY op "
                                     "UNION ALL SELECT op, features FROM onemap.bulk_changes WHERE changeset_id = $1",
                       report["changeset_id"])
    assert {r["op"]: r["n"] for r in ops} == {"replace": 19, "retire": 10}


async def test_invalid_geometries_refused_or_repaired_and_dry_run_writes_nothing(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    bowtie = Polygon([(112.95, 28.20), (112.951, 28.201), (112.951, 28.20), (112.95, 28.201), (112.95, 28.20)])
    good = shapely.box(112.96, 28.20, 112.9605, 28.2005)
    far = shapely.box(116.0, 39.9, 116.001, 39.901)  # Beijing
    geoms = np.array([shapely.to_wkb(g) for g in (good, bowtie, far)], dtype=object)
    fields = {"建筑物编号": np.array(["A", "B", "C"], dtype=object),
              "用途": np.array(["住宅", "住宅", "宫殿"], dtype=object)}
    path = tmp_path / "bad.geojson"
    write(str(path), geoms, list(fields.values()), list(fields), geometry_type="Polygon", crs="EPSG:4326",
          driver="GeoJSON")
    code, report = await run_import("buildings", path, url=fresh_db_url)
    assert code == 1
    why = {r["key"]: [x["code"] for x in r["reasons"]] for r in report["rejections"]}
    assert why == {"B": ["invalid"], "C": ["outside-city"]}
    assert "Self-intersection" in report["rejections"][0]["reasons"][0]["message"]

    code, report = await run_import("buildings", path, "--make-valid", "--max-rejects", "1", "--dry-run",
                                    url=fresh_db_url)
    assert code == 0 and report["status"] == "dry-run"
    assert report["counts"]["inserted"] == 2 and report["counts"]["repaired"] == 1
    assert "make_valid" in report["repairs"][0]["repairs"][0]
    assert (await _fetch(fresh_db_url, "SELECT count(*) n FROM data.buildings"))[0]["n"] == 0

    code, report = await run_import("buildings", path, "--make-valid", "--max-rejects", "1", url=fresh_db_url)
    assert code == 0
    kinds = await _fetch(fresh_db_url, "SELECT source_id, ST_NumGeometries(geom) n, ST_IsValid(geom) ok, use "
                                       "FROM data.buildings ORDER BY source_id")
    assert [(r["source_id"], r["n"], r["ok"], r["use"]) for r in kinds] == [("A", 1, True, "residential"),
                                                                            ("B", 2, True, "residential")]


async def test_district_boundaries_through_the_generic_job(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    code, report = await run_import("generic", deliveries.ADMIN_GCJ02, "--layer", "admin_districts", "--crs",
                                    "gcj02", url=fresh_db_url)
    # cnmaps calls 浏阳市 and 宁乡市 "county-level city"; the layer's code is county_city.
    assert code == 1
    assert {r["attributes"]["name"] for r in report["rejections"]} == {"浏阳市", "宁乡市"}
    profile = tmp_path / "cnmaps.yaml"
    profile.write_text(
        "name: cnmaps_districts\ntitle: cnmaps 区县\napplies_to: admin_districts\n"
        "fields:\n  level: {from: [level], values: {county-level city: county_city}}\n", encoding="utf-8")
    code, report = await run_import("generic", deliveries.ADMIN_GCJ02, "--layer", "admin_districts", "--crs",
                                    "gcj02", "--profile", profile, url=fresh_db_url)
    assert code == 0, report["rejections"][:2]
    assert report["counts"]["inserted"] == 10
    reference = {f["properties"]["adcode"]: shape(f["geometry"]) for f in
                 json.loads(deliveries.ADMIN_WGS84.read_text(encoding="utf-8"))["features"]}
    for r in await _fetch(fresh_db_url, "SELECT adcode, ST_AsGeoJSON(geom, 12) g FROM data.admin_districts"):
        got = shapely.get_coordinates(shape(json.loads(r["g"])))
        want = shapely.get_coordinates(reference[r["adcode"]])
        assert got.shape == want.shape
        # SOURCES.md: the *_wgs84 files come from an iterative inverse accurate to ~1e-7°.
        assert float(np.max(np.abs(got - want))) < 2e-7


async def test_grid_cells_from_a_filegdb(fresh_db_url: str, run_import: Runner, tmp_path: Path) -> None:
    cells, codes = [], []
    for k in range(12):
        x, y = 112.95 + (k % 4) * 0.001, 28.19 + (k // 4) * 0.001
        cells.append(shapely.to_wkb(shapely.box(x, y, x + 0.001, y + 0.001)))
        codes.append(f"43010400701{k + 1:03d}"[:14] if k != 11 else "4301040070")  # the last one is malformed
    path = tmp_path / "网格.gdb"
    write(str(path), np.array(cells, dtype=object), [np.array(codes, dtype=object)], ["BGID"], layer="单元网格",
          geometry_type="Polygon", crs="EPSG:4490", driver="OpenFileGDB")
    code, report = await run_import("grid", f"{path}::单元网格", url=fresh_db_url)
    assert code == 1
    assert [r["row"] for r in report["rejections"]] == [12]
    assert report["rejections"][0]["reasons"][0]["code"] == "grid-code"
    code, report = await run_import("grid", path, "--max-rejects", "1", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == 11
    row = (await _fetch(fresh_db_url, "SELECT district_adcode, street_no, community_no, area_m2 FROM "
                                      "data.grid_cells WHERE grid_code = '43010400701001'"))[0]
    assert (row["district_adcode"], row["street_no"], row["community_no"]) == ("430104", "007", "010")
    expected = 0.001 * 111_320 * 0.001 * 110_800 * math.cos(math.radians(28.19))
    assert abs(row["area_m2"] - expected) / expected < 0.02  # computed on the ellipsoid


async def test_land_use_parcels_with_scheme_checks(fresh_db_url: str, run_import: Runner, tmp_path: Path) -> None:
    parcels = [shapely.to_wkb(shapely.box(112.95 + k * 0.002, 28.19, 112.951 + k * 0.002, 28.191)) for k in range(4)]
    fields = {
        "DKBH": np.array(["P1", "P2", "P3", "P4"], dtype=object),
        "DLBM": np.array(["0701", "1207", "08H1", "0802"], dtype=object),  # 08H1 is a 三调 working code
        "DLMC": np.array(["城镇住宅用地", "城镇村道路用地", "公共设施", "科研用地"], dtype=object),
    }
    path = tmp_path / "地块.gpkg"
    write(str(path), np.array(parcels, dtype=object), list(fields.values()), list(fields), geometry_type="Polygon",
          crs="EPSG:4490", driver="GPKG")
    code, report = await run_import("landuse", path, "--scheme", "ydyh", "--scheme-version", "2023", url=fresh_db_url)
    assert code == 1
    assert [(r["key"], r["reasons"][0]["code"]) for r in report["rejections"]] == [("P3", "pattern")]
    code, report = await run_import("landuse", path, "--scheme", "gbt21010", "--scheme-version", "2017",
                                    "--max-rejects", "4", url=fresh_db_url)
    # In GB/T 21010-2017 none of these four-digit codes is listed: the scheme is checked, not just the format.
    assert {r["reasons"][0]["code"] for r in report["rejections"]} == {"pattern", "landuse-code"}


async def test_bd09_capture(fresh_db_url: str, run_import: Runner, tmp_path: Path) -> None:
    path, originals = deliveries.gcj02_buildings(tmp_path / "gcj.geojson", count=30)
    data = json.loads(path.read_text(encoding="utf-8"))
    for f in data["features"]:
        g = shapely.transform(shape(f["geometry"]),
                              lambda c: np.column_stack(offsets.gcj02_to_bd09(c[:, 0], c[:, 1])))
        f["geometry"] = shapely.geometry.mapping(g)
    bd = tmp_path / "baidu.geojson"
    bd.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, report = await run_import("buildings", bd, "--crs", "bd09", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == 30
    stored = {r["source_id"]: shape(json.loads(r["g"])) for r in await _fetch(
        fresh_db_url, "SELECT source_id, ST_AsGeoJSON(geom, 12) g FROM data.buildings")}
    for f in originals:
        p = f["properties"]
        diff = shapely.get_coordinates(stored[f"{p['osm_type']}/{p['osm_id']}"]) - shapely.get_coordinates(
            shape(f["geometry"]))
        assert float(np.max(np.abs(diff))) * 111_000 < 0.01


async def test_city_components_with_codes(fresh_db_url: str, run_import: Runner, tmp_path: Path) -> None:
    codes = ["4301040101000001", "4301040105000002", "4301049999000003"]  # the last: no such 大类
    fields = {"ObjID": np.array(codes, dtype=object), "ObjName": np.array(["上水井盖", "电力井盖", "?"], dtype=object),
              "BGID": np.array(["43010400701001"] * 3, dtype=object), "ObjState": np.array(["完好", "破损", "完好"],
                                                                                          dtype=object)}
    pts = np.array([shapely.to_wkb(shapely.Point(112.95 + k * 0.0001, 28.19)) for k in range(3)], dtype=object)
    path = tmp_path / "部件.shp"
    write(str(path), pts, list(fields.values()), list(fields), geometry_type="Point", crs="EPSG:4490",
          encoding="UTF-8", driver="ESRI Shapefile")
    code, report = await run_import("grid", "--components", path, "--max-rejects", "1", url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == 2
    assert report["rejections"][0]["key"] == "4301049999000003"
    rows = await _fetch(fresh_db_url, "SELECT obj_code, major_code, minor_code, obj_state FROM data.city_components "
                                      "ORDER BY obj_code")
    assert [tuple(r) for r in rows] == [("4301040101000001", "01", "0101", "1"),
                                        ("4301040105000002", "01", "0105", "2")]
