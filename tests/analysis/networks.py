"""Hand-built pipe networks written through the real versioned write path (layers.versioning).

Positions are local metres east/north of ``ORIGIN`` in CGCS2000 GK zone 38 (EPSG:4547), a
quiet spot of 岳麓区; they are stored in EPSG:4490 like every feature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from shapely.geometry import LineString, Point

from analysis.contract import ProcessContext
from layers.registry import Registry
from layers.versioning import FeatureIn, insert_feature, open_changeset, retire_feature
from spatial.crs import crs_ref, transform_xy

GK = crs_ref(4547)
ORIGIN = (391_000.0, 3_118_000.0)  # about 112.88°E 28.17°N
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SUB = {"water": "JP", "storm": "YS", "sewage": "WS", "gas": "TR", "power": "GD"}
CAT = {"water": "JS", "storm": "PS", "sewage": "PS", "gas": "RQ", "power": "DL"}


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as the columns analysis.network.model.build_network reads (what sql/segments.sql returns)."""
    return {k: [r[k] for r in rows] for k in rows[0]}


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres → EPSG:4490 lon/lat."""
    lon, lat = transform_xy([ORIGIN[0] + x], [ORIGIN[1] + y], src=GK)
    return float(lon[0]), float(lat[0])


@dataclass
class Built:
    """Feature ids of what was written, by number."""

    points: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)


async def write(
    conn: asyncpg.Connection, key: str, *, points: dict[str, tuple[float, float, dict[str, Any]]],
    segments: dict[str, tuple[str, str, dict[str, Any]]], valid_from: dt.datetime = T0,
    at_xy: dict[str, tuple[float, float]] | None = None,
) -> Built:
    """Write points {no: (x, y, props)} and segments {no: (start_no, end_no, props)}, committed.

    A segment end is drawn at its point's position, or at ``at_xy[no]`` for a number that names
    no point (to test joining by coordinates).
    """
    reg = await Registry.load(conn)
    pts, segs = reg.get(f"pipeline_{key}_points"), reg.get(f"pipeline_{key}_segments")
    out = Built()
    xy = {no: (x, y) for no, (x, y, _) in points.items()} | (at_xy or {})
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        for no, (x, y, extra) in points.items():
            props = {"point_no": no, "category": CAT[key], "subcategory": SUB[key], "status": "0",
                     "feature_point": None if extra.get("appurtenance") else "ZXD", **extra}
            ref = await insert_feature(conn, layer=pts, feature=FeatureIn(Point(*lonlat(x, y)), props),
                                       changeset_id=cs, valid_from=valid_from)
            out.points[no] = ref.fid
        for no, (a, b, extra) in segments.items():
            props = {"segment_no": no, "category": CAT[key], "subcategory": SUB[key], "start_point": a,
                     "end_point": b, "start_depth_m": 1.2, "end_depth_m": 1.2, "material": "PE",
                     "diameter_mm": 200, "status": "0", "owner": "长沙水业集团", **extra}
            if key == "gas":
                props.setdefault("pressure_class", "ZA")
            line = LineString([lonlat(*xy[a]), lonlat(*xy[b])])
            ref = await insert_feature(conn, layer=segs, feature=FeatureIn(line, props), changeset_id=cs,
                                       valid_from=valid_from)
            out.segments[no] = ref.fid
    return out


async def retire(conn: asyncpg.Connection, layer_id: str, fid: int) -> None:
    """Retire one feature now (committed)."""
    reg = await Registry.load(conn)
    async with conn.transaction():
        cs = await open_changeset(conn, actor="pytest", source="test")
        await retire_feature(conn, layer=reg.get(layer_id), fid=fid, changeset_id=cs)


async def _progress(percent: int, message: str) -> None:
    return None


def context(pool: asyncpg.Pool, readable: Callable[[str], bool] | None = None,
            progress: Callable[[int, str], Awaitable[None]] = _progress, **settings: Any) -> ProcessContext:
    """A ProcessContext as the API builds it (everything readable by default)."""
    return ProcessContext(pool=pool, readable=readable or (lambda _layer: True), progress=progress,
                          settings=settings)


# The water network of the valve tests:
#
#   S ─a─ V1 ─b─ J1 ─c─ V2 ─d─ J2 ─e─ V3 ─f─ J3        (V = 阀门; S = source)
#                 │
#                 g
#                 │
#                 V4 ─h─ J4
#
# and, apart, K1 ─x─ K2 ─y─ K3 with no valve at all.
WATER_POINTS: dict[str, tuple[float, float, dict[str, Any]]] = {
    "S": (0, 0, {"is_source": True, "feature_point": "CD"}),
    "V1": (100, 0, {"appurtenance": "FM"}), "J1": (200, 0, {}), "V2": (300, 0, {"appurtenance": "FMJ"}),
    "J2": (400, 0, {}), "V3": (500, 0, {"appurtenance": "FM"}), "J3": (600, 0, {}),
    "V4": (200, -100, {"appurtenance": "FM"}), "J4": (200, -200, {}),
    "K1": (0, 300, {}), "K2": (100, 300, {}), "K3": (200, 300, {}),
}
WATER_SEGMENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "a": ("S", "V1", {}), "b": ("V1", "J1", {}), "c": ("J1", "V2", {}), "d": ("V2", "J2", {}),
    "e": ("J2", "V3", {}), "f": ("V3", "J3", {}), "g": ("J1", "V4", {}), "h": ("V4", "J4", {}),
    "x": ("K1", "K2", {}), "y": ("K2", "K3", {}),
}

# A storm network; inverts (ground − depth) fall towards Y4:
#
#   Y1 ─s1→ Y2 ─s2→ Y3 ─s3→ Y4      s3 is digitised Y4 → Y3 (against the flow)
#           ↑
#   Y5 ─s4─┘
STORM_POINTS: dict[str, tuple[float, float, dict[str, Any]]] = {
    "Y1": (0, 1000, {"appurtenance": "JCJ", "ground_elev_m": 50.0}),
    "Y2": (50, 1000, {"appurtenance": "JCJ", "ground_elev_m": 50.0}),
    "Y3": (100, 1000, {"appurtenance": "JCJ", "ground_elev_m": 49.8}),
    "Y4": (150, 1000, {"appurtenance": "JCJ", "ground_elev_m": 49.5}),
    "Y5": (50, 1050, {"appurtenance": "JCJ", "ground_elev_m": 50.2}),
}
STORM_SEGMENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "s1": ("Y1", "Y2", {"start_depth_m": 1.5, "end_depth_m": 1.8}),
    "s2": ("Y2", "Y3", {"start_depth_m": 1.9, "end_depth_m": 2.0}),
    "s3": ("Y4", "Y3", {"start_depth_m": 2.2, "end_depth_m": 2.1}),  # Y4 invert 47.3 < Y3 47.7
    "s4": ("Y5", "Y2", {"start_depth_m": 1.6, "end_depth_m": 1.85}),
}
