"""``onemap import pipelines`` with the real Modena network moved to Changsha (see tests/deliveries.py)."""

from __future__ import annotations

import math
from pathlib import Path

import asyncpg
import numpy as np
import pyogrio
import shapely
from shapely.geometry import LineString, Point

from layers.db import connect
from tests import deliveries
from tests.deliveries import Runner

EXPECTED_NODES = 272  # 268 junctions + 4 reservoirs in modena_it.inp
EXPECTED_PIPES = 317


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dy = (lat2 - lat1) * 111_320.0
    dx = (lon2 - lon1) * 111_320.0 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


async def test_gbk_shapefiles_in_4547_with_chinese_fields(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    code, report = await run_import("pipelines", delivered["gbk_points"], delivered["gbk_segments"],
                                    "--valid-from", "2024-05-01", url=fresh_db_url)
    assert code == 0, report["decision"]
    assert report["counts"]["inserted"] == EXPECTED_NODES + EXPECTED_PIPES
    assert report["layers"]["pipeline_water_points"]["inserted"] == EXPECTED_NODES
    assert report["layers"]["pipeline_water_segments"]["inserted"] == EXPECTED_PIPES
    assert report["sources"][0]["encoding"]["name"] == "GB18030"
    assert "no .cpg" in report["sources"][0]["encoding"]["reason"]
    assert report["sources"][0]["crs"]["crs"] == "EPSG:4547"
    nodes, _pipes = deliveries.modena_network()
    rows = await _fetch(fresh_db_url, "SELECT point_no, ST_X(geom) x, ST_Y(geom) y, ground_elev_m, owner "
                                      "FROM data.pipeline_water_points")
    assert len(rows) == EXPECTED_NODES
    for r in rows:
        e, n, _h = nodes[r["point_no"].removeprefix("JS")]
        lon, lat = deliveries.to_4490(e, n)
        assert _metres(lon, lat, r["x"], r["y"]) < 0.01  # stored within a centimetre
        assert r["owner"] == "长沙水业集团"
    segs = {r["segment_no"]: r for r in await _fetch(
        fresh_db_url, "SELECT segment_no, material, diameter_mm, build_year, start_point, valid_from, category, "
                      "subcategory, status FROM data.pipeline_water_segments")}
    assert len(segs) == EXPECTED_PIPES
    first = segs["JSL1"]
    assert (first["material"], first["diameter_mm"], first["build_year"]) == ("QM", 125, 2015)  # 球墨铸铁, 2015年
    assert (segs["JSL2"]["material"], segs["JSL3"]["material"], segs["JSL4"]["material"]) == ("ZT", "PE", "G")
    assert (first["category"], first["subcategory"], first["status"]) == ("JS", "JP", "0")
    assert first["valid_from"].isoformat().startswith("2024-04-30T16:00")  # 2024-05-01 Beijing time


async def test_redelivery_versions_only_what_changed(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner, tmp_path: Path,
) -> None:
    await run_import("pipelines", delivered["gbk_points"], delivered["gbk_segments"], "--valid-from", "2024-05-01",
                     url=fresh_db_url)
    # The contractor re-measures three pipes: new material for two, a deeper end for one.
    meta, _f, geoms, values = pyogrio.raw.read(delivered["gbk_segments"], encoding="GBK")
    names = list(meta["fields"])
    table = {n: list(v) for n, v in zip(names, values, strict=True)}
    for i in (0, 1):
        table["材质"][i] = "PE"
    table["终点埋深"][2] = 2.5
    folder = tmp_path / "v2"
    folder.mkdir()
    out = folder / "管线段.shp"
    pyogrio.raw.write(str(out), geoms, [np.array(v, dtype=object if isinstance(v[0], str) else float)
                                        for v in table.values()], names, geometry_type="LineString",
                      crs="EPSG:4547", encoding="GBK", driver="ESRI Shapefile")
    code, report = await run_import("pipelines", delivered["gbk_points"], out, "--valid-from", "2024-09-01",
                                    url=fresh_db_url)
    assert code == 0, report["decision"]
    seg = report["layers"]["pipeline_water_segments"]
    assert (seg["new_versions"], seg["unchanged"], seg["inserted"]) == (3, EXPECTED_PIPES - 3, 0)
    assert report["layers"]["pipeline_water_points"]["unchanged"] == EXPECTED_NODES
    history = await _fetch(fresh_db_url, "SELECT version, material, valid_to IS NULL AS cur FROM "
                                         "data.pipeline_water_segments WHERE segment_no = 'JSL1' ORDER BY version")
    assert [(r["version"], r["material"], r["cur"]) for r in history] == [(1, "QM", False), (2, "PE", True)]
    total = await _fetch(fresh_db_url, "SELECT count(*) n FROM data.pipeline_water_segments")
    assert total[0]["n"] == EXPECTED_PIPES + 3


async def test_bad_codes_and_topology_refuse_the_whole_delivery(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    points, segments = deliveries.gbk_pipeline_shapefiles(tmp_path / "bad", limit_pipes=12)
    meta, _f, geoms, values = pyogrio.raw.read(segments, encoding="GBK")
    names = list(meta["fields"])
    table = {n: list(v) for n, v in zip(names, values, strict=True)}
    table["材质"][0] = "木头"  # not a CJJ 61 material
    table["管径"][1] = 9000.0  # above 5000 mm
    table["起点埋深"][2] = 45.0  # deeper than 30 m
    moved = shapely.from_wkb(geoms[3])
    coords = list(moved.coords)
    coords[-1] = (coords[-1][0] + 1.0, coords[-1][1])  # the end misses its point by 1 m
    geoms[3] = shapely.to_wkb(LineString(coords))
    pyogrio.raw.write(str(segments), geoms, [np.array(v, dtype=object if isinstance(v[0], str) else float)
                                             for v in table.values()], names, geometry_type="LineString",
                      crs="EPSG:4547", encoding="GBK", driver="ESRI Shapefile")
    code, report = await run_import("pipelines", points, segments, url=fresh_db_url)
    assert code == 1 and report["status"] == "refused"
    by_row = {(r["source"], r["row"]): r for r in report["rejections"]}
    reasons = {row: [x["code"] for x in r["reasons"]] for (src, row), r in by_row.items() if src == "管线段.shp"}
    assert (reasons[1], reasons[2], reasons[3]) == (["codelist"], ["maximum"], ["maximum"])
    assert reasons[4] == ["topology"]
    assert "1.000 m from its point" in by_row[("管线段.shp", 4)]["reasons"][0]["message"]
    assert "'木头' is not an allowed code" in by_row[("管线段.shp", 1)]["reasons"][0]["message"]
    assert report["counts"]["inserted"] == 0
    rows = await _fetch(fresh_db_url, "SELECT (SELECT count(*) FROM data.pipeline_water_segments) s, "
                                      "(SELECT count(*) FROM data.pipeline_water_points) p, "
                                      "(SELECT count(*) FROM onemap.changesets) c")
    assert tuple(rows[0]) == (0, 0, 0)  # nothing at all was written, not even the changeset

    # Points whose only segments were rejected become orphans and go too (3 of them here).
    orphans = [r for r in report["rejections"] if r["reasons"][0]["code"] == "orphan"]
    assert len(report["rejections"]) == 4 + len(orphans) and len(orphans) == 3
    code, report = await run_import("pipelines", points, segments, "--max-rejects", "7", url=fresh_db_url)
    assert code == 0 and report["counts"]["rejected"] == 7
    assert report["layers"]["pipeline_water_segments"]["inserted"] == 12 - 4


async def test_orphan_point_is_rejected(fresh_db_url: str, run_import: Runner, tmp_path: Path) -> None:
    points, segments = deliveries.gbk_pipeline_shapefiles(tmp_path / "orphan", limit_pipes=5)
    meta, _f, geoms, values = pyogrio.raw.read(points, encoding="GBK")
    geoms = np.append(geoms, shapely.to_wkb(Point(399000.0, 3121000.0)))
    values = [np.append(v, "JS9999" if i == 0 else (v[0] if v.dtype == object else 40.0))
              for i, v in enumerate(values)]
    pyogrio.raw.write(str(points), geoms, values, list(meta["fields"]), geometry_type="Point", crs="EPSG:4547",
                      encoding="GBK", driver="ESRI Shapefile")
    code, report = await run_import("pipelines", points, segments, url=fresh_db_url)
    assert code == 1
    assert [(r["key"], r["reasons"][0]["code"]) for r in report["rejections"]] == [("JS9999", "orphan")]


async def test_survey_tables_with_x_northing_and_segments_without_geometry(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    code, report = await run_import("pipelines", "--points", delivered["csv_points"], "--segments",
                                    delivered["csv_segments"], url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    crs = report["sources"][0]["crs"]
    assert crs["crs"] == "EPSG:4526" and crs["swap_xy"] is True
    assert "zone 38" in crs["reason"] and "X = north" in crs["reason"]
    assert report["sources"][0]["encoding"]["name"] == "GB18030"
    assert report["layers"]["pipeline_storm_segments"]["inserted"] == 40
    nodes, _ = deliveries.modena_network()
    rows = await _fetch(fresh_db_url, "SELECT point_no, ST_X(geom) x, ST_Y(geom) y, well_depth_m, appurtenance "
                                      "FROM data.pipeline_storm_points")
    for r in rows:
        e, n, _h = nodes[r["point_no"].removeprefix("YS")]
        lon, lat = deliveries.to_4490(e, n)
        assert _metres(lon, lat, r["x"], r["y"]) < 0.01
        assert r["well_depth_m"] == 2.1 and r["appurtenance"] == "JCJ"  # 地面高程 − 井底高程; 检查井
    seg = await _fetch(fresh_db_url, "SELECT segment_no, diameter_mm, material, ST_NPoints(geom) np "
                                     "FROM data.pipeline_storm_segments WHERE start_point = 'YS1' "
                                     "AND end_point = 'YS16'")
    assert seg[0]["segment_no"] == "YS1-YS16" and seg[0]["diameter_mm"] == 325 and seg[0]["material"] == "T"
    assert seg[0]["np"] == 2  # drawn from its two points


async def test_epanet_model_moved_to_changsha(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    code, report = await run_import("pipelines", delivered["inp"], "--set", "material=QM", "--set",
                                    "start_depth_m=1.2", "--set", "end_depth_m=1.2", url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    assert "assumed zone 38" in report["sources"][0]["crs"]["reason"]
    points = report["layers"]["pipeline_water_points"]["inserted"]
    segments = report["layers"]["pipeline_water_segments"]["inserted"]
    # One pipe became a valve and one a pump: each is a point with a segment on either side.
    assert (points, segments) == (EXPECTED_NODES + 2, EXPECTED_PIPES - 2 + 4)
    kinds = {r["point_no"]: (r["feature_point"], r["appurtenance"]) for r in await _fetch(
        fresh_db_url, "SELECT point_no, feature_point, appurtenance FROM data.pipeline_water_points")}
    assert kinds["FM-V5"] == (None, "FM") and kinds["BZ-P9"] == (None, "BZ")
    assert kinds["269"] == ("CD", None)  # a reservoir


async def test_original_modena_is_refused_with_reasons(fresh_db_url: str, run_import: Runner) -> None:
    code, report = await run_import("pipelines", deliveries.MODENA_INP, url=fresh_db_url)
    assert code == 2 and report["status"] == "failed"
    assert "declare the CRS with --crs" in report["error"]
    code, report = await run_import("pipelines", deliveries.MODENA_INP, "--crs", "EPSG:3003", url=fresh_db_url)
    assert code == 2 and "EPSG:3003 is not supported" in report["error"]
    # The GeoPackage says EPSG:4326, so it is read — and every feature lies in Italy.
    code, report = await run_import("pipelines", deliveries.MODENA_GPKG, url=fresh_db_url)
    assert code == 1 and report["counts"]["rejected"] == EXPECTED_NODES + EXPECTED_PIPES
    reasons = {(x["field"], x["code"]): x["rows"] for x in report["reasons"]}
    assert reasons[("geometry", "outside-city")] == EXPECTED_NODES + EXPECTED_PIPES
    assert reasons[("material", "required")] == EXPECTED_PIPES  # EPANET has no material: --set it
    assert any("material" in w for w in report["warnings"])


async def test_cad_drawing_layers_and_labels(
    fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
) -> None:
    code, report = await run_import("pipelines", delivered["dxf"], "--set", "material=T", "--set",
                                    "start_depth_m=2", "--set", "end_depth_m=2.2", "--set", "diameter_mm=400",
                                    "--set", "appurtenance=JCJ", url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    assert report["layers"]["pipeline_storm_segments"]["inserted"] == 6
    points = {r["point_no"] for r in await _fetch(fresh_db_url, "SELECT point_no FROM data.pipeline_storm_points")}
    segs = await _fetch(fresh_db_url, "SELECT start_point, end_point FROM data.pipeline_storm_segments")
    assert all(p.startswith("YS") for p in points)  # named from the TEXT labels
    assert {s["start_point"] for s in segs} | {s["end_point"] for s in segs} == points


async def test_excel_survey_tables(fresh_db_url: str, delivered: dict[str, Path], run_import: Runner,
                                   tmp_path: Path) -> None:
    """The same 成果表 as XLSX (what contractors mostly send), numbers typed by Excel."""
    import csv

    books = {}
    for key, name in (("csv_points", "点表.xlsx"), ("csv_segments", "线表.xlsx")):
        with delivered[key].open(encoding="gbk", newline="") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], rows[1:]
        columns = []
        for j in range(len(header)):
            values = [r[j] for r in body]
            try:
                columns.append(np.array([float(v) for v in values]))
            except ValueError:
                columns.append(np.array(values, dtype=object))
        books[key] = tmp_path / name
        pyogrio.raw.write(str(books[key]), None, columns, header, driver="XLSX")
    code, report = await run_import("pipelines", "--points", books["csv_points"], "--segments",
                                    books["csv_segments"], url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    assert report["sources"][0]["format"] == "XLSX" and report["sources"][0]["crs"]["swap_xy"] is True
    assert report["layers"]["pipeline_storm_segments"]["inserted"] == 40
    row = (await _fetch(fresh_db_url, "SELECT diameter_mm, build_year FROM data.pipeline_storm_segments "
                                      "WHERE segment_no = 'YS1-YS16'"))[0]
    assert (row["diameter_mm"], row["build_year"]) == (325, 2008)
