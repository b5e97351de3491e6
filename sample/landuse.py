"""Land-use parcels (用地用海 2023 codes, 示例数据) from the street blocks, classed by GHSL.

Parcels are the blocks the sample streets leave, cut by the real district
boundaries and split when large; road space is 城镇村道路用地 (1207) and the Xiang's
channel 河流水面 (1701). Each block is classed from the GHSL built-up volume and
height at the dates of the three national land surveys (一调 1996, 二调 2009, 三调
2019, using the 1990/2010/2020 epochs); a parcel whose class changed gets a new
version then, so the land-use map fills in as the city grew.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from sample.context import at, rng
from sample.streets import Street
from sample.terrain import OPEN_VOLUME_M3, Terrain
from sample.writer import Plan, Version
from spatial.codelists.landuse import YDYH_2023

SURVEYS = ((at(1996, 10, 31), "v1990"), (at(2009, 12, 31), "v2010"), (at(2019, 12, 31), "v2020"))
EVENT_SURVEY = {
    1: "示例数据：第二次全国土地调查（二调）用地现状更新",
    2: "示例数据：第三次全国国土调查（三调）用地现状更新",
}
SPLIT_ABOVE_M2 = 120_000.0
MIN_PARCEL_M2 = 200.0
SAMPLE_STEP_M = 50.0


def _split(poly: Polygon, rnd: Any) -> list[Polygon]:
    """Cut a large block across its long axis into 2–4 parcels."""
    if poly.area <= SPLIT_ABOVE_M2:
        return [poly]
    rect = poly.minimum_rotated_rectangle
    xy = np.asarray(rect.exterior.coords)[:4]
    edges = [(xy[i], xy[(i + 1) % 4]) for i in range(4)]
    (a, b) = max(edges[:2], key=lambda e: float(np.hypot(*(e[1] - e[0]))))
    long_axis = (b - a) / (np.hypot(*(b - a)) or 1.0)
    normal = np.array([-long_axis[1], long_axis[0]])
    parts = min(4, max(2, int(poly.area // SPLIT_ABOVE_M2) + 1))
    centre = np.asarray(rect.centroid.coords[0])
    span = float(np.hypot(*(b - a)))
    pieces: list[Polygon] = [poly]
    for k in range(1, parts):
        t = (k / parts - 0.5 + rnd.uniform(-0.05, 0.05)) * span
        p = centre + long_axis * t
        cut = LineString([p - normal * 5000, p + normal * 5000]).buffer(0.01)
        pieces = [g for piece in pieces for g in _polys(piece.difference(cut))]
    return pieces


def _polys(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]


def _stats(terrain: Terrain, parcel: Polygon) -> dict[str, float]:
    x0, y0, x1, y1 = parcel.bounds
    mesh_x, mesh_y = np.meshgrid(np.arange(x0 + SAMPLE_STEP_M / 2, x1, SAMPLE_STEP_M),
                                 np.arange(y0 + SAMPLE_STEP_M / 2, y1, SAMPLE_STEP_M))
    xs, ys = mesh_x.ravel(), mesh_y.ravel()
    inside = shapely.contains_xy(parcel, xs, ys)
    if not inside.any():
        p = parcel.representative_point()
        xs, ys = np.array([p.x]), np.array([p.y])
    else:
        xs, ys = xs[inside], ys[inside]
    out = {"height": float(np.mean(np.maximum(terrain.sample_local("height", xs, ys), 0)))}
    for _, band in SURVEYS:
        v = np.maximum(terrain.sample_local(band, xs, ys), 0)
        out[band] = float(np.mean(v))
        out[band + "_share"] = float(np.mean(v >= OPEN_VOLUME_M3))
    return out


def _classify(stats: dict[str, float], band: str, parcel: Polygon, near_river: bool, draws: list[float]) -> str:
    """A 用地用海 code for a parcel from its GHSL built-up at one epoch (``draws`` fix its vocation)."""
    share, volume = stats[band + "_share"], stats[band]
    # Height is known for 2018 only; earlier epochs scale it by how much volume there was then.
    height = stats["height"] * (volume / stats["v2020"] if stats["v2020"] > 0 else 0.0)
    if share < 0.25:
        if near_river:
            return "1401"
        if parcel.area > 80_000:
            return "03"
        return "1401" if draws[0] < 0.6 else "1402"
    if height >= 30 and volume >= 150_000:
        return "0902" if draws[1] < 0.6 else "0701"
    if height >= 12:
        r = draws[2]
        return "0701" if r < 0.62 else "0901" if r < 0.8 else "0804" if r < 0.88 else "0801" if r < 0.93 \
            else "0806" if r < 0.97 else "0702"
    if height < 9 and volume < 40_000 and parcel.area > 50_000 and draws[3] < 0.5:
        return "1001" if draws[3] < 0.3 else "1101"  # big low sheds: works and warehouses
    r = draws[4]
    return "0701" if r < 0.6 else "0901" if r < 0.85 else "0702" if r < 0.9 else "0804" if r < 0.95 else "1001"


def _props(parcel_no: str, code: str, area: float, district: str) -> dict[str, Any]:
    return {"parcel_no": parcel_no, "landuse_code": code, "landuse_name": YDYH_2023.label(code), "scheme": "ydyh",
            "scheme_version": "2023", "plan_status": "现状", "area_m2": round(area, 1), "district_adcode": district}


def landuse_plans(terrain: Terrain, streets: list[Street], regions: dict[str, BaseGeometry]) -> list[Plan]:
    """Parcels (local metres) over the gridded core, district by district."""
    roads = shapely.union_all([s.line.buffer(s.width_m / 2, cap_style="flat") for s in streets])
    water = terrain.channel
    plans: list[Plan] = []
    for district in sorted(regions):
        region = regions[district]
        blocks = _polys(region.difference(roads).difference(water))
        parcels: list[Polygon] = []
        for block in blocks:
            parcels += [p for p in _split(block, rng("block", district, round(block.centroid.x), round(
                block.centroid.y))) if p.area >= MIN_PARCEL_M2]
        parcels.sort(key=lambda p: (-round(p.centroid.y, -2), p.centroid.x))
        for n, parcel in enumerate(parcels, start=1):
            plans.append(_parcel_plan(terrain, parcel, f"{district}-{n:05d}", district))
        # A bridge's deck is over the river: the land there is water, not road.
        special = [("R", "1207", region.intersection(roads).difference(water)),
                   ("W", "1701", region.intersection(water))]
        for tag, code, geom in special:
            polys = [p for p in _polys(shapely.make_valid(geom)) if p.area >= MIN_PARCEL_M2]
            if polys:
                props = _props(f"{district}-{tag}", code, sum(p.area for p in polys), district)
                plans.append(Plan([Version(SURVEYS[0][0], MultiPolygon(polys), props)]))
    return plans


def _parcel_plan(terrain: Terrain, parcel: Polygon, parcel_no: str, district: str) -> Plan:
    stats = _stats(terrain, parcel)
    rnd = rng("parcel", parcel_no)
    draws = [rnd.random() for _ in range(5)]
    near_river = terrain.channel.distance(parcel) < 300
    versions: list[Version] = []
    for n, (when, band) in enumerate(SURVEYS):
        code = _classify(stats, band, parcel, near_river, draws)
        if not versions or versions[-1].properties["landuse_code"] != code:
            versions.append(Version(when, parcel, _props(parcel_no, code, parcel.area, district),
                                    EVENT_SURVEY.get(n) if versions else None))
    return Plan(versions)

