"""A small town of known buildings, districts and unit grid cells for the building statistics tests.

Written through the real versioned write path (layers.versioning), with history: buildings built
in 2010, some retired in 2016, some added in 2018, some re-surveyed (new floors) in 2019. Positions
are local metres east/north of ``ORIGIN`` (EPSG:4547, 岳麓区), stored in EPSG:4490. The expected
answers are computed by :func:`expected` from the raw rows of ``data.buildings`` with shapely,
independently of the SQL under test.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from analysis.inputs import to_metric
from layers.registry import Registry
from layers.versioning import FeatureIn, insert_feature, open_changeset, retire_feature, update_feature
from tests.analysis.networks import lonlat

T2010 = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
T2016 = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
T2018 = dt.datetime(2018, 1, 1, tzinfo=dt.UTC)
T2019 = dt.datetime(2019, 6, 1, tzinfo=dt.UTC)
USES = ["residential", "commercial", "office", "industrial", "education"]
HEIGHTS = [None, 6.0, 10.5, 24.0, 26.0, 27.0, 30.0, 50.0, 75.0, 100.0, 130.0, 1.0]
FLOORS = [None, 0, 1, 2, 6, 12, 30]
YEARS = [None, 1975, 1980, 1999, 2000, 2009, 2010, 2019, 2020, 2023]
# Grid cells: (district, street, community, seq) → local box (x0, y0, x1, y1), 100 m cells.
CELLS = {("430104", 1, 1, 1): (0, 0, 100, 100), ("430104", 1, 1, 2): (100, 0, 200, 100),
         ("430104", 1, 2, 1): (0, 100, 100, 200), ("430104", 2, 1, 1): (200, 0, 300, 100)}
DISTRICTS = {"430104": ("岳麓区", (-50, -50, 260, 250)), "430105": ("开福区", (260, -50, 400, 250))}
SUBDISTRICT = ("测试街道", "430104007", (40, -20, 230, 130))  # a sub-district boundary, by name


def local_box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A local-metre box as an EPSG:4490 polygon (corners transformed)."""
    return Polygon([lonlat(x0, y0), lonlat(x1, y0), lonlat(x1, y1), lonlat(x0, y1), lonlat(x0, y0)])


@dataclass
class Town:
    """Feature ids written, by role."""

    buildings: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    resurveyed: list[int] = field(default_factory=list)


def _props(rng: random.Random, i: int) -> dict[str, Any]:
    props = {"source_id": f"t{i}", "name": f"测试楼{i}", "use": rng.choice(USES), "height_m": rng.choice(HEIGHTS),
             "floors": rng.choice(FLOORS), "year_built": rng.choice(YEARS)}
    if i % 11 == 0:  # neither floors nor height: the default rule
        props |= {"floors": None, "height_m": None}
    return props


def _footprint(rng: random.Random) -> MultiPolygon:
    # Centres keep 12 m from every 100 m cell edge, so membership never sits on a boundary.
    cx = rng.choice(range(0, 4)) * 100 + rng.uniform(12, 88)
    cy = rng.choice(range(0, 2)) * 100 + rng.uniform(12, 88)
    w, h = rng.uniform(4, 10), rng.uniform(4, 10)
    return MultiPolygon([local_box(cx - w, cy - h, cx + w, cy + h)])


async def write(conn: asyncpg.Connection, *, n: int = 60, seed: int = 7) -> Town:
    """Districts, grid cells and ``n`` buildings with history (committed)."""
    reg = await Registry.load(conn)
    bld, cells, admin = reg.get("buildings"), reg.get("grid_cells"), reg.get("admin_districts")
    sub = reg.get("admin_subdistricts")
    rng = random.Random(seed)
    town = Town()
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        for code, (name, xy) in DISTRICTS.items():
            await insert_feature(conn, layer=admin, changeset_id=cs, valid_from=T2010, feature=FeatureIn(
                MultiPolygon([local_box(*xy)]), {"adcode": code, "name": name, "level": "district",
                                                 "parent_adcode": "430100"}))
        await insert_feature(conn, layer=sub, changeset_id=cs, valid_from=T2010, feature=FeatureIn(
            MultiPolygon([local_box(*SUBDISTRICT[2])]), {"name": SUBDISTRICT[0], "district_adcode": "430104",
                                                         "street_code": SUBDISTRICT[1]}))
        for (d, s, c, q), xy in CELLS.items():
            await insert_feature(conn, layer=cells, changeset_id=cs, valid_from=T2010, feature=FeatureIn(
                MultiPolygon([local_box(*xy)]), {"grid_code": f"{d}{s:03d}{c:03d}{q:02d}", "district_adcode": d,
                                                 "street_no": f"{s:03d}", "community_no": f"{c:03d}",
                                                 "area_m2": 10_000.0}))
        for i in range(n):
            added = i % 7 == 3
            ref = await insert_feature(conn, layer=bld, changeset_id=cs, valid_from=T2018 if added else T2010,
                                       feature=FeatureIn(_footprint(rng), _props(rng, i)))
            (town.added if added else town.buildings).append(ref.fid)
        for fid in town.buildings[::6]:
            await retire_feature(conn, layer=bld, fid=fid, changeset_id=cs, valid_to=T2016)
            town.retired.append(fid)
        for fid in [f for f in town.buildings if f not in town.retired][::5]:
            await update_feature(conn, layer=bld, fid=fid, patch={"floors": 9, "height_m": 28.5}, geometry=None,
                                 changeset_id=cs, valid_from=T2019)
            town.resurveyed.append(fid)
    return town


def floors_rule(floors: int | None, height: float | None) -> tuple[str, int]:
    """(rule, floors used), restated here from the process description."""
    if floors is not None and floors >= 1:
        return "floors", floors
    if height is not None and height > 0:
        return "height", max(1, math.floor(height / 3.0 + 0.5))
    return "default", 1


def age_band(year: int | None) -> str:
    if year is None:
        return "unknown"
    for limit, band in ((1980, "before_1980"), (2000, "1980_1999"), (2010, "2000_2009"), (2020, "2010_2019")):
        if year < limit:
            return band
    return "since_2020"


def height_class(use: str, height: float | None, floors: int | None) -> str:
    if height is None:
        return "unknown"
    if height <= (27.0 if use == "residential" else 24.0) or (floors == 1 and use != "residential"):
        return "low_multi"
    return "high_to_50" if height <= 50 else "high_50_100" if height <= 100 else "super_high"


async def raw_rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every version of every building, as stored."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT fid, valid_from, valid_to, ST_AsBinary(geom) AS wkb, use, height_m, floors, year_built "
        "FROM data.buildings")
    return rows


def expected(rows: list[asyncpg.Record], area: BaseGeometry, at: dt.datetime | None) -> dict[str, Any]:
    """Totals and breakdowns counted in Python from the raw rows (point on surface in area)."""
    out: dict[str, dict[str, list[float]]] = {k: {} for k in ("by_use", "by_age", "by_height", "by_floor_rule")}
    total = [0.0, 0.0, 0.0]
    for r in rows:
        live = r["valid_to"] is None if at is None else (r["valid_from"] <= at and (r["valid_to"] is None
                                                                                   or at < r["valid_to"]))
        geom = shapely.from_wkb(bytes(r["wkb"]))
        if not live or not area.intersects(geom.point_on_surface()):
            continue
        rule, floors = floors_rule(r["floors"], r["height_m"])
        fp = to_metric(geom).area
        keys = {"by_use": r["use"], "by_age": age_band(r["year_built"]),
                "by_height": height_class(r["use"], r["height_m"], r["floors"]), "by_floor_rule": rule}
        for name, key in keys.items():
            acc = out[name].setdefault(key, [0.0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += fp
            acc[2] += fp * floors
        total = [total[0] + 1, total[1] + fp, total[2] + fp * floors]
    return {"totals": total, **out}


def cells_union(*keys: tuple[str, int, int, int]) -> BaseGeometry:
    """The union of the named grid cells (EPSG:4490)."""
    return shapely.union_all([local_box(*CELLS[k]) for k in keys])


def district(code: str) -> Polygon:
    return local_box(*DISTRICTS[code][1])


def polygon_json(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A local box as a GeoJSON Polygon input."""
    return dict(json.loads(json.dumps(mapping(local_box(x0, y0, x1, y1)))))



def circle(cx: float, cy: float, r: float, n: int = 600) -> Polygon:
    """A many-vertex local circle (EPSG:4490), so the statistics cut it into pieces (ST_Subdivide)."""
    ring = [lonlat(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n)]
    return Polygon([*ring, ring[0]])


ROLLUP = "SELECT * FROM onemap.building_rollup ORDER BY level, ix, iy, class_key, at"


async def rollup(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The statistics rollup's rows, in key order."""
    return list(await conn.fetch(ROLLUP))


async def rebuilt_rollup(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The rollup rebuilt from every stored version (``onemap.building_rollup_fill``), in a transaction
    that is rolled back, so the kept rollup is left as it was."""
    look = conn.transaction()
    await look.start()
    try:
        await conn.execute("SELECT onemap.building_rollup_fill()")
        return await rollup(conn)
    finally:
        await look.rollback()
