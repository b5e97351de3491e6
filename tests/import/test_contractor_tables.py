"""``onemap import pipelines --points P.csv --segments S.csv`` with tables as contractors deliver them:
no 管线类别 and no 小类 anywhere, the category only in the 物探点号 prefixes (tests/deliveries.py)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import asyncpg

from layers.db import connect
from tests import deliveries
from tests.deliveries import Runner

# What each prefix stands for, as docs/domain.md §1.1 and the general 小类 codes say: (大类, 小类, platform key).
EXPECTED = {
    "JS": ("JS", "JP", "water"), "YS": ("PS", "YS", "storm"), "RQ": ("RQ", "TR", "gas"),
    "DX": ("TX", "DH", "telecom"), "DL": ("DL", "GD", "power"),
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _network(point_no: str) -> str:
    """The network a fixture point belongs to: its prefix, and the water network for the ``J…`` point."""
    letters = point_no.rstrip("0123456789")
    return "JS" if letters == "J" else letters


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_tables_without_categories_import_with_no_flags(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    points, segments = deliveries.contractor_tables_csv(tmp_path / "delivery")
    point_rows, segment_rows = _rows(points), _rows(segments)
    assert "管线类别" not in point_rows[0] and "小类" not in point_rows[0] and "管线类别" not in segment_rows[0]
    code, report = await run_import("pipelines", "--points", points, "--segments", segments, url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    assert report["counts"]["rejected"] == 0
    assert report["sources"][0]["crs"]["crs"] == "EPSG:4547" and report["sources"][0]["crs"]["swap_xy"] is True

    points_per = Counter(_network(r["物探点号"]) for r in point_rows)
    segments_per = Counter(_network(r["起点点号"]) for r in segment_rows)
    for prefix, (category, subcategory, key) in EXPECTED.items():
        assert report["layers"][f"pipeline_{key}_points"]["inserted"] == points_per[prefix]
        assert report["layers"][f"pipeline_{key}_segments"]["inserted"] == segments_per[prefix]
        stored = await _fetch(fresh_db_url, f"SELECT point_no, category, subcategory FROM data.pipeline_{key}_points")
        assert {_network(r["point_no"]) for r in stored} == {prefix}
        assert {(r["category"], r["subcategory"]) for r in stored} == {(category, subcategory)}
        stored = await _fetch(fresh_db_url, f"SELECT category, subcategory FROM data.pipeline_{key}_segments")
        assert {(r["category"], r["subcategory"]) for r in stored} == {(category, subcategory)}

    inferred = {(x["source"], x["field"], x["how"], x["value"]): x for x in report["inferred"]}
    unnamed = [r["物探点号"] for r in point_rows if r["物探点号"].rstrip("0123456789") == "J"]
    assert len(unnamed) == 1
    by_segments = inferred[("管线点.csv", "category", "segments that reference the point", "JS 给水")]
    assert by_segments["rows"] == 1 and by_segments["examples"] == unnamed
    by_prefix = inferred[("管线点.csv", "category", "物探点号 prefix", "JS 给水")]
    assert by_prefix["rows"] == points_per["JS"] - 1
    assert inferred[("管线点.csv", "subcategory", "物探点号 prefix", "PS/YS 雨水")]["rows"] == points_per["YS"]
    assert inferred[("管线点.csv", "subcategory", "物探点号 prefix", "TX/DH 电话")]["rows"] == points_per["DX"]
    general = "no 小类: the category's general code"
    for prefix, value in (("JS", "JS/JP 配水"), ("RQ", "RQ/TR 天然气"), ("DL", "DL/GD 供电")):
        assert inferred[("管线点.csv", "subcategory", general, value)]["rows"] == points_per[prefix]
        assert inferred[("管线段.csv", "subcategory", general, value)]["rows"] == segments_per[prefix]
    from_ends = [x for x in report["inferred"] if x["source"] == "管线段.csv" and x["field"] == "category"]
    assert {x["how"] for x in from_ends} == {"the segment's end points (起点/终点点号)"}
    assert sum(x["rows"] for x in from_ends) == len(segment_rows)
    html = (Path(report["_dir"]) / "report.html").read_text(encoding="utf-8")
    assert 'id="inferred"' in html and "segments that reference the point" in html


async def test_unknown_prefix_without_segments_is_still_rejected(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    nodes, _ = deliveries.modena_network()
    e, north, _h = nodes["1"]
    points, segments = deliveries.contractor_tables_csv(tmp_path / "delivery", unnamed_water_point=False,
                                                        extra_points=[("ZZ901", e + 5.0, north + 5.0)])
    code, report = await run_import("pipelines", "--points", points, "--segments", segments, url=fresh_db_url)
    assert code == 1 and report["status"] == "refused"
    (rejection,) = report["rejections"]
    assert rejection["source"] == "管线点.csv" and rejection["row"] == len(_rows(points))
    (reason,) = rejection["reasons"]
    assert reason["field"] == "category" and "'ZZ901' has no known CJJ 61 prefix" in reason["message"]
    assert "no segment of the delivery references it" in reason["message"]
    rows = await _fetch(fresh_db_url, "SELECT count(*) AS n FROM onemap.changesets")
    assert rows[0]["n"] == 0  # all or nothing
    code, report = await run_import("pipelines", "--points", points, "--segments", segments, "--max-rejects", "1",
                                    url=fresh_db_url)
    assert code == 0 and report["counts"]["inserted"] == len(_rows(points)) - 1 + len(_rows(segments))


async def test_prefix_against_segments_category_is_reported(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    # The contractor filled 管线类别 for one water segment only, and wrote 燃气 there.
    probe = deliveries.contractor_tables_csv(tmp_path / "probe", unnamed_water_point=False)[1]
    segment_rows = _rows(probe)
    ends = Counter(p for r in segment_rows for p in (r["起点点号"], r["终点点号"]))
    row = next(i for i, r in enumerate(segment_rows) if r["起点点号"].startswith("JS") and ends[r["起点点号"]] == 1)
    leaf = segment_rows[row]["起点点号"]
    points, segments = deliveries.contractor_tables_csv(tmp_path / "delivery", unnamed_water_point=False,
                                                        segment_categories={row: "燃气"})
    code, report = await run_import("pipelines", "--points", points, "--segments", segments, url=fresh_db_url)
    assert code == 1 and report["counts"]["inserted"] == 0
    conflicts = {r["attributes"]["物探点号"]: r["reasons"][0] for r in report["rejections"]
                 if r["reasons"][0]["code"] == "category-conflict"}
    assert conflicts[leaf]["message"] == (f"物探点号 {leaf!r} says JS 给水 but the segments that reference it say "
                                          "RQ 燃气")
    other = segment_rows[row]["终点点号"]  # referenced by the 燃气 segment and by water segments
    assert "disagree" in conflicts[other]["message"] and "RQ 燃气" in conflicts[other]["message"]
    assert {x["code"] for x in report["reasons"]} >= {"category-conflict"}


async def test_segments_with_category_but_no_subcategory(
    fresh_db_url: str, run_import: Runner, tmp_path: Path,
) -> None:
    """The held-out delivery's shape: 管线类别 on the segments only, 小类 nowhere."""
    names = {"JS": "给水", "YS": "雨水", "RQ": "燃气", "DX": "电信", "DL": "电力"}
    probe = _rows(deliveries.contractor_tables_csv(tmp_path / "probe", unnamed_water_point=False)[1])
    stated = {i: names[_network(r["起点点号"])] for i, r in enumerate(probe)}
    points, segments = deliveries.contractor_tables_csv(tmp_path / "delivery", unnamed_water_point=False,
                                                        segment_categories=stated)
    code, report = await run_import("pipelines", "--points", points, "--segments", segments, url=fresh_db_url)
    assert code == 0, report["rejections"][:3]
    segment_notes = [x for x in report["inferred"] if x["source"] == "管线段.csv"]
    assert {x["field"] for x in segment_notes} == {"subcategory"}  # the category was delivered
    per_network = Counter(_network(r["起点点号"]) for r in probe)
    # 雨水 and 电信 name a 小类 themselves; 给水, 燃气 and 电力 get their general code.
    assert {x["value"]: x["rows"] for x in segment_notes} == {
        "JS/JP 配水": per_network["JS"], "RQ/TR 天然气": per_network["RQ"], "DL/GD 供电": per_network["DL"]}
    for prefix, (category, subcategory, key) in EXPECTED.items():
        stored = await _fetch(fresh_db_url, f"SELECT DISTINCT category, subcategory FROM data.pipeline_{key}_segments")
        assert [(r["category"], r["subcategory"]) for r in stored] == [(category, subcategory)], prefix
