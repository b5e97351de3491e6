"""Survey deliveries for the import tests, built from the real data the repository carries in sample/data.

No public pipe network of a Chinese city exists (sample/data/pipelines/SOURCES.md), so the
real Modena water network is **moved to Changsha by a pure translation** of its Monte Mario /
Italy zone 1 metres (EPSG:3003) into CGCS2000 3-degree GK CM 114°E metres (EPSG:4547):
``E = x + MODENA_DX``, ``N = y + MODENA_DY``. Lengths, angles and topology are the real
network's; its centre lands near 112.97°E 28.20°N. Everything else is written the way field
deliveries come: GBK .dbf without .cpg, X = northing tables, GCJ-02 GeoJSON, CAD drawings.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyogrio.raw import write
from shapely.geometry import LineString, Point, mapping, shape

from spatial import offsets
from tests.support import SAMPLE_DATA

# A worktree may sit elsewhere than the checkout CI uses; ONEMAP_DATA_DIR (as the API reads it) wins.
DATA = SAMPLE_DATA
MODENA_INP = DATA / "pipelines" / "modena_it.inp"
MODENA_GPKG = DATA / "pipelines" / "modena_it.gpkg"
OSM_BUILDINGS = DATA / "changsha" / "buildings" / "osm_buildings_changsha_partial.geojson"
ADMIN_GCJ02 = DATA / "changsha" / "boundaries" / "changsha_admin_cnmaps_gcj02.geojson"
ADMIN_WGS84 = DATA / "changsha" / "boundaries" / "changsha_admin_cnmaps_wgs84.geojson"
URBAN_CORE = DATA / "changsha" / "boundaries" / "aoi_changsha_urban_core.geojson"
# run_import(job, *args, url=…) → (exit code, report.json as a dict); see tests/import/conftest.py.
Runner = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]
MODENA_DX = -1_253_793.0
MODENA_DY = -1_824_173.0
MATERIALS = ["球墨铸铁", "铸铁", "PE", "钢"]


def _sections(path: Path) -> tuple[list[str], dict[str, list[list[str]]]]:
    lines = path.read_bytes().replace(b"\0", b"").decode().splitlines()
    out: dict[str, list[list[str]]] = {}
    current = None
    for raw in lines:
        line = raw.split(";")[0].strip()
        if line.startswith("["):
            current = out.setdefault(line, [])
        elif line and current is not None:
            current.append(line.split())
    return lines, out


def modena_network() -> tuple[dict[str, tuple[float, float, float]], list[tuple[str, str, str, float]]]:
    """(node id → (E, N, elevation) in EPSG:4547 after the shift, pipes (id, n1, n2, diameter mm))."""
    _, s = _sections(MODENA_INP)
    elev = {r[0]: float(r[1]) for r in s["[JUNCTIONS]"]}
    nodes = {r[0]: (float(r[1]) + MODENA_DX, float(r[2]) + MODENA_DY, elev.get(r[0], 70.0))
             for r in s["[COORDINATES]"]}
    pipes = [(r[0], r[1], r[2], float(r[4])) for r in s["[PIPES]"]]
    return nodes, pipes


def shifted_inp(out: Path, *, valve_pipe: str = "5", pump_pipe: str = "9") -> Path:
    """The Modena .inp moved to Changsha, with one pipe turned into a valve and one into a pump."""
    text = MODENA_INP.read_bytes().replace(b"\0", b"").decode()
    lines, s = _sections(MODENA_INP)
    section = None
    body: list[str] = []
    moved: dict[str, list[str]] = {}
    for raw in text.splitlines():
        stripped = raw.split(";")[0].strip()
        if stripped.startswith("["):
            section = stripped
            body.append(raw)
            if section == "[VALVES]" and valve_pipe in moved:
                r = moved[valve_pipe]
                body.append(f" V{r[0]} {r[1]} {r[2]} {r[4]} TCV 0 0")
            if section == "[PUMPS]" and pump_pipe in moved:
                r = moved[pump_pipe]
                body.append(f" P{r[0]} {r[1]} {r[2]} HEAD 1")
            continue
        parts = stripped.split()
        if section == "[COORDINATES]" and len(parts) >= 3:
            body.append(f" {parts[0]} {float(parts[1]) + MODENA_DX:.2f} {float(parts[2]) + MODENA_DY:.2f}")
        elif section == "[PIPES]" and parts and parts[0] in (valve_pipe, pump_pipe):
            moved[parts[0]] = parts
        else:
            body.append(raw)
    del lines, s
    out.write_text("\n".join(body) + "\n", encoding="utf-8")
    return out


def _to_4490(e: float, n: float) -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(4547, 4490, always_xy=True).transform(e, n)
    return float(lon), float(lat)


def gbk_pipeline_shapefiles(folder: Path, *, limit_pipes: int | None = None) -> tuple[Path, Path]:
    """管线点.shp and 管线段.shp in EPSG:4547, GBK .dbf, no .cpg, Chinese field names (给水)."""
    nodes, pipes = modena_network()
    pipes = pipes[:limit_pipes] if limit_pipes else pipes
    used = sorted({n for p in pipes for n in p[1:3]}, key=lambda x: int(x))
    folder.mkdir(parents=True, exist_ok=True)
    points = folder / "管线点.shp"
    geoms = np.array([shapely.to_wkb(Point(nodes[n][0], nodes[n][1])) for n in used], dtype=object)
    fields: dict[str, list[Any]] = {
        "物探点号": [f"JS{n}" for n in used],
        "管线类别": ["给水"] * len(used),
        "小类": ["配水"] * len(used),
        "特征": ["三通点" if i % 3 == 0 else "直线点" for i in range(len(used))],
        "地面高程": [nodes[n][2] for n in used],
        "权属单位": ["长沙水业集团"] * len(used),
    }
    _write(points, geoms, fields, "Point")
    segments = folder / "管线段.shp"
    lines = np.array([shapely.to_wkb(LineString([nodes[a][:2], nodes[b][:2]])) for _, a, b, _ in pipes], dtype=object)
    fields = {
        "管线段编号": [f"JSL{p[0]}" for p in pipes],
        "管线类别": ["给水"] * len(pipes),
        "小类": ["配水"] * len(pipes),
        "起始点号": [f"JS{p[1]}" for p in pipes],
        "终止点号": [f"JS{p[2]}" for p in pipes],
        "起点埋深": [1.2] * len(pipes),
        "终点埋深": [1.35] * len(pipes),
        "材质": [MATERIALS[i % len(MATERIALS)] for i in range(len(pipes))],
        "管径": [p[3] for p in pipes],
        "权属单位": ["长沙水业集团"] * len(pipes),
        "建设年代": ["2015年"] * len(pipes),
    }
    _write(segments, lines, fields, "LineString")
    return points, segments


def _write(path: Path, geoms: np.ndarray[Any, Any], fields: dict[str, list[Any]], kind: str) -> None:
    arrays = [np.array(v, dtype=object if isinstance(v[0], str) else np.float64) for v in fields.values()]
    write(str(path), geoms, arrays, list(fields), geometry_type=kind, crs="EPSG:4547", encoding="GBK",
          driver="ESRI Shapefile")
    path.with_suffix(".cpg").unlink(missing_ok=True)


def survey_tables_csv(folder: Path, *, limit_pipes: int = 40) -> tuple[Path, Path]:
    """A 管线点成果表 CSV with X = northing and prefixed Y = easting (38 …), GBK encoded, and a
    管线段成果表 CSV with no coordinates at all (雨水, so --category is not needed)."""
    nodes, pipes = modena_network()
    pipes = pipes[:limit_pipes]
    used = sorted({n for p in pipes for n in p[1:3]}, key=lambda x: int(x))
    folder.mkdir(parents=True, exist_ok=True)
    points = folder / "雨水管线点成果表.csv"
    with points.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["物探点号", "管线类别", "X", "Y", "地面高程", "附属物", "井底高程"])
        for n in used:
            e, north, h = nodes[n]
            w.writerow([f"YS{n}", "雨水", f"{north:.3f}", f"{e + 38_000_000:.3f}", f"{h:.2f}", "检查井",
                        f"{h - 2.1:.2f}"])
    segments = folder / "雨水管线段成果表.csv"
    with segments.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["起始点号", "终止点号", "管线类别", "起点埋深", "终点埋深", "材质", "管径", "建设年代"])
        for _, a, b, d in pipes:
            w.writerow([f"YS{a}", f"YS{b}", "雨水", "2.1", "2.3", "砼", f"DN{int(d) + 200}", "2008"])
    return points, segments


# The networks of a contractor's 管线点/管线段 CSV pair (see contractor_tables_csv): 物探点号 prefix,
# metres east of the water network (parallel pipes under the same streets), 权属单位, 材质, 埋设方式,
# 管径 (mm) and what its points carry (特征 by how many pipes meet there, or one 附属物).
CONTRACTOR_NETWORKS = [
    ("JS", 0.0, "长沙水业集团", "球墨铸铁", "直埋", 300, None),
    ("YS", 25.0, "长沙市城市管理和综合执法局", "钢筋混凝土", "直埋", 800, "检查井"),
    ("RQ", 50.0, "长沙新奥燃气有限公司", "PE", "直埋", 160, None),
    ("DX", 75.0, "中国电信长沙分公司", "PVC", "管块式", 100, "人孔"),
    ("DL", -25.0, "国网湖南省电力有限公司长沙供电分公司", "铜", "管沟式", 200, "电缆井"),
]
_FEATURE_BY_DEGREE = {1: "盖堵点", 2: "直线点", 3: "三通点"}


def contractor_tables_csv(folder: Path, *, pipes: int = 6, unnamed_water_point: bool = True,
                          segment_categories: dict[int, str] | None = None,
                          extra_points: list[tuple[str, float, float]] | None = None) -> tuple[Path, Path]:
    """A 管线点/管线段 CSV pair as contractors deliver it: no 管线类别 and no 小类 anywhere.

    The first ``pipes`` pipes of the moved Modena network, laid once per entry of
    :data:`CONTRACTOR_NETWORKS` (shifted east by its offset), numbered with its 物探点号 prefix.
    Points: 物探点号, X = northing, Y = easting (CGCS2000 GK CM 114°E metres, EPSG:4547, no zone
    prefix), 地面高程, 特征, 附属物, 埋深. Segments: 起点点号, 终点点号, 材质, 管径, 起点埋深, 终点埋深,
    埋设方式, 权属单位, 建设年代, 压力级制 (gas only). UTF-8 with a byte-order mark, as Excel saves "CSV UTF-8".

    With ``unnamed_water_point``, one water point is numbered ``J…`` (no known prefix), so only the
    segments that reference it tell its category. ``segment_categories`` adds a 管线类别 column to the
    segments, empty except for the given row indexes; ``extra_points`` adds (物探点号, E, N) rows.
    """
    nodes, all_pipes = modena_network()
    chosen = all_pipes[:pipes]
    used = sorted({n for p in chosen for n in p[1:3]}, key=lambda x: int(x))
    degree = {n: sum(n in p[1:3] for p in chosen) for n in used}
    unnamed = used[len(used) // 2] if unnamed_water_point else None
    folder.mkdir(parents=True, exist_ok=True)

    def number(prefix: str, node: str) -> str:
        return f"J{node}" if prefix == "JS" and node == unnamed else f"{prefix}{node}"

    points = folder / "管线点.csv"
    with points.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["物探点号", "X", "Y", "地面高程", "特征", "附属物", "埋深"])
        for prefix, dx, _owner, _material, _burial, _diameter, facility in CONTRACTOR_NETWORKS:
            for n in used:
                e, north, h = nodes[n]
                feature = "" if facility else _FEATURE_BY_DEGREE.get(degree[n], "四通点")
                w.writerow([number(prefix, n), f"{north:.3f}", f"{e + dx:.3f}", f"{h:.2f}", feature, facility or "",
                            "1.50"])
        for name, e, north in extra_points or []:
            w.writerow([name, f"{north:.3f}", f"{e:.3f}", "40.00", "直线点", "", "1.20"])
    segments = folder / "管线段.csv"
    header = ["起点点号", "终点点号", "材质", "管径", "起点埋深", "终点埋深", "埋设方式", "权属单位", "建设年代",
              "压力级制"]
    with segments.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header + (["管线类别"] if segment_categories is not None else []))
        row = 0
        for prefix, _dx, owner, material, burial, diameter, _facility in CONTRACTOR_NETWORKS:
            for _, a, b, _d in chosen:
                values = [number(prefix, a), number(prefix, b), material, f"DN{diameter}", "1.20", "1.35", burial,
                          owner, "2016", "中压B" if prefix == "RQ" else ""]
                if segment_categories is not None:
                    values.append(segment_categories.get(row, ""))
                w.writerow(values)
                row += 1
    return points, segments


def gcj02_buildings(out: Path, *, count: int = 200) -> tuple[Path, list[dict[str, Any]]]:
    """The first ``count`` OSM buildings (WGS84) shifted into GCJ-02, as a web-map capture would be."""
    data = json.loads(OSM_BUILDINGS.read_text(encoding="utf-8"))
    features = data["features"][:count]
    shifted = []
    for f in features:
        geom = shape(f["geometry"])
        moved = shapely.transform(geom, lambda c: np.column_stack(offsets.wgs84_to_gcj02(c[:, 0], c[:, 1])))
        shifted.append({"type": "Feature", "properties": f["properties"], "geometry": mapping(moved)})
    out.write_text(json.dumps({"type": "FeatureCollection", "features": shifted}, ensure_ascii=False),
                   encoding="utf-8")
    return out, features


def osm_buildings_gpkg(out: Path, *, count: int | None = None) -> Path:
    """The real OSM buildings as a GeoPackage (EPSG:4326)."""
    meta, _fids, geoms, values = pyogrio.raw.read(OSM_BUILDINGS, max_features=count)
    write(str(out), geoms, values, list(meta["fields"]), geometry_type="Unknown", crs="EPSG:4326", driver="GPKG")
    return out


def dxf_drawing(out: Path, *, pipes: int = 6) -> Path:
    """A CAD drawing (R12 DXF) of part of the moved Modena network on layer YS_LINE, point symbols on
    YS_POINT with their 物探点号 as TEXT beside them."""
    nodes, all_pipes = modena_network()
    chosen = all_pipes[:pipes]
    used = sorted({n for p in chosen for n in p[1:3]}, key=lambda x: int(x))
    rows = ["0", "SECTION", "2", "ENTITIES"]
    handle = 0x100

    def entity(kind: str, layer: str, codes: list[tuple[int, Any]]) -> None:
        nonlocal handle
        rows.extend(["0", kind, "5", f"{handle:X}", "8", layer])
        handle += 1
        for code, value in codes:
            rows.extend([str(code), str(value)])

    for n in used:
        e, north, _ = nodes[n]
        entity("POINT", "YS_POINT", [(10, f"{e:.3f}"), (20, f"{north:.3f}"), (30, "0")])
        entity("TEXT", "YS_TEXT", [(10, f"{e + 1.0:.3f}"), (20, f"{north + 1.0:.3f}"), (30, "0"), (40, "1.5"),
                                   (1, f"YS{n}")])
    for _, a, b, _ in chosen:
        entity("LINE", "YS_LINE", [(10, f"{nodes[a][0]:.3f}"), (20, f"{nodes[a][1]:.3f}"), (30, "0"),
                                   (11, f"{nodes[b][0]:.3f}"), (21, f"{nodes[b][1]:.3f}"), (31, "0")])
    rows += ["0", "ENDSEC", "0", "EOF"]
    out.write_text("\n".join(rows) + "\n", encoding="ascii")
    return out


def to_4490(e: float, n: float) -> tuple[float, float]:
    """EPSG:4547 metres → EPSG:4490 lon/lat (what the importer must store)."""
    return _to_4490(e, n)


def synthetic_buildings(out: Path, *, count: int, changed_every: int = 0, seed: int = 20261123) -> Path:
    """``count`` building footprints on a city-block grid in central Changsha, as a building survey
    GeoPackage (EPSG:4490, Chinese column names). With ``changed_every`` = k, every k-th building has
    one more floor (and 3 m more height) — a re-survey with 1/k of the buildings changed."""
    def draw(stream: int) -> np.random.Generator:
        # One generator per attribute, so a longer delivery starts with the same buildings as a shorter one.
        return np.random.default_rng([seed, stream])

    side = 1000  # buildings per row of blocks, whatever the count: the same building is always in the same place
    i = np.arange(count)
    x0 = 112.90 + (i % side) * (0.15 / side)
    y0 = 28.12 + (i // side) * (0.15 / side)
    w = draw(1).uniform(0.2, 0.7, count) * (0.15 / side)
    h = draw(2).uniform(0.2, 0.7, count) * (0.15 / side)
    geoms = shapely.to_wkb(shapely.box(x0, y0, x0 + w, y0 + h))
    floors = draw(3).integers(1, 33, count)
    if changed_every:
        floors = floors + (i % changed_every == 0)
    uses = np.array(["住宅", "商业", "办公", "工业", "教育"], dtype=object)[draw(4).integers(0, 5, count)]
    fields = {
        "建筑物编号": np.array([f"CS{k:07d}" for k in i], dtype=object),
        "建筑名称": np.array([f"示例楼{k}" if k % 7 == 0 else None for k in i], dtype=object),
        "用途": uses,
        "层数": floors.astype(np.int64),
        "建筑高度": floors * 3.0,
        "建成年代": draw(5).integers(1980, 2024, count).astype(np.int64),
    }
    out.unlink(missing_ok=True)
    write(str(out), np.asarray(geoms, dtype=object), list(fields.values()), list(fields), geometry_type="Polygon",
          crs="EPSG:4490", driver="GPKG")
    return out


def with_extra_row(src: Path, out: Path, *, copy_of: int, geometry: Any) -> Path:
    """``src`` plus one more row: a copy of row index ``copy_of``'s attributes with another geometry."""
    meta, _fids, geoms, values = pyogrio.raw.read(str(src))
    geoms = np.append(np.asarray(geoms, dtype=object), np.asarray([shapely.to_wkb(geometry)], dtype=object))
    values = [np.append(np.asarray(col, dtype=object), np.asarray([col[copy_of]], dtype=object)) for col in values]
    out.unlink(missing_ok=True)
    write(str(out), geoms, values, list(meta["fields"]), geometry_type="Polygon", crs=meta["crs"], driver="GPKG")
    return out


# Rail stations with one Chinese name, at this 1-based row, among ASCII names: the encoding breaks
# in the middle of the data, not in the header.
MISLABELLED_ROW = 3
MISLABELLED_NAME = "长沙南站"


def mislabelled_gbk_stations(folder: Path, *, rows: int = 6) -> tuple[Path, Path]:
    """stations.shp (EPSG:4490) whose .cpg says UTF-8 and stations.csv (lon/lat columns), both
    GBK, with ASCII field names and one GBK station name at :data:`MISLABELLED_ROW`."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [MISLABELLED_NAME if i + 1 == MISLABELLED_ROW else f"Stop {i + 1}" for i in range(rows)]
    lonlat = [(112.95 + i * 0.01, 28.2) for i in range(rows)]
    shp = folder / "stations.shp"
    geoms = np.array([shapely.to_wkb(Point(x, y)) for x, y in lonlat], dtype=object)
    write(str(shp), geoms, [np.array(names, dtype=object), np.array(["subway"] * rows, dtype=object)],
          ["name", "station"], geometry_type="Point", crs="EPSG:4490", encoding="GBK", driver="ESRI Shapefile")
    shp.with_suffix(".cpg").write_text("UTF-8\n")
    table = folder / "stations.csv"
    with table.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "station", "lon", "lat"])
        for name, (x, y) in zip(names, lonlat, strict=True):
            w.writerow([name, "subway", x, y])
    return shp, table
