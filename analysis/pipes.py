"""Pipes of every category near a geometry, with their size, depths and elevations along the line.

Depth convention (domain.md §1.3): pressure pipes and cables are measured to the pipe top;
gravity drainage (雨水, 污水) to the invert. So a pipe of height ``h`` (diameter, or the height
of a 宽×高 section) has top depth = depth (pressure) or depth − h (gravity), and bottom depth =
depth + h (pressure) or depth (gravity). Elevation = ground elevation − depth, with the ground
taken from the end points (地面高程) and interpolated along the pipe. Wall thickness is ignored.

Geometry here is CGCS2000 GK zone 38 (EPSG:4547) metres.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import asyncpg
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from analysis.features import METRES_PER_DEGREE_MIN, selection_at, statement
from analysis.network.categories import CategoryLayers
from layers.sql import Params
from layers.temporal import predicate
from spatial.codelists.cjj61 import parse_section


@dataclass(frozen=True, slots=True)
class Pipe:
    """One segment with what the geometric analyses need; ``line`` is EPSG:4547 metres."""

    cat: CategoryLayers
    fid: int
    row: dict[str, Any]
    line: LineString

    @property
    def gravity(self) -> bool:
        """Depth measured to the invert."""
        return self.cat.gravity

    @property
    def width_m(self) -> float:
        """Outer width: the diameter, or the section's width; 0 when unknown."""
        sec = parse_section(self.row.get("section"))
        if sec:
            return sec[0] / 1000.0
        return (self.row.get("diameter_mm") or 0) / 1000.0

    @property
    def height_m(self) -> float:
        """Outer height: the diameter, or the section's height; 0 when unknown."""
        sec = parse_section(self.row.get("section"))
        if sec:
            return sec[1] / 1000.0
        return (self.row.get("diameter_mm") or 0) / 1000.0

    @property
    def size(self) -> str:
        """规格 as surveyors write it: DN300, or 宽×高 in mm."""
        if self.row.get("section"):
            return str(self.row["section"])
        return f"DN{self.row['diameter_mm']}" if self.row.get("diameter_mm") else ""

    def fraction(self, point: Point) -> float:
        """Where ``point`` (EPSG:4547) projects on the pipe, 0 at its start and 1 at its end."""
        return float(self.line.project(point, normalized=True)) if self.line.length else 0.0

    def depth_at(self, frac: float) -> float:
        """Surveyed depth (top or invert per category) interpolated at ``frac``."""
        a, b = float(self.row["start_depth_m"]), float(self.row["end_depth_m"])
        return a + (b - a) * frac

    def top_depth_at(self, frac: float) -> float:
        """Depth of the pipe top below ground at ``frac``."""
        d = self.depth_at(frac)
        return d - self.height_m if self.gravity else d

    def bottom_depth_at(self, frac: float) -> float:
        """Depth of the pipe bottom below ground at ``frac``."""
        d = self.depth_at(frac)
        return d if self.gravity else d + self.height_m

    def ground_at(self, frac: float) -> float | None:
        """Ground elevation (1985 datum) at ``frac``, from the end points; None when either is missing."""
        a, b = self.row.get("start_ground"), self.row.get("end_ground")
        if a is None or b is None:
            return None
        return float(a) + (float(b) - float(a)) * frac

    def min_top_depth_within(self, area: BaseGeometry) -> float | None:
        """The shallowest top depth of the part of the pipe inside ``area`` (None if outside)."""
        inside = self.line.intersection(area)
        if inside.is_empty:
            return None
        coords = shapely.get_coordinates(inside)
        # Depth is linear between the ends, so its extremes inside lie at the ends of the pieces.
        return min(self.top_depth_at(self.fraction(Point(x, y))) for x, y in coords)


async def pipes_near(
    conn: asyncpg.Connection, cats: list[CategoryLayers], geom_4490: BaseGeometry, distance_m: float,
    at: dt.datetime | None,
) -> list[Pipe]:
    """Segments of ``cats`` within ``distance_m`` metres of ``geom_4490`` (lon/lat), as of ``at``."""
    wkb = shapely.to_wkb(geom_4490, output_dimension=2)
    out: list[Pipe] = []
    for cat in cats:
        params = Params()
        sel = selection_at(at)
        has_pressure = any(f.name == "pressure_class" for f in cat.segments.attributes.fields)
        sql = statement("pipes_near.sql").format(
            pressure="s.pressure_class" if has_pressure else "NULL", points=cat.points.table,
            start_selection=predicate(sel, params, alias="p"), end_selection=predicate(sel, params, alias="p"),
            segments=cat.segments.table, selection=predicate(sel, params, alias="s"),
            area=params.add(wkb, "bytea"), degrees=params.add(distance_m / METRES_PER_DEGREE_MIN + 1e-6, "float8"),
            distance=params.add(distance_m, "float8"))
        for r in await conn.fetch(sql, *params.values):
            row = dict(r)
            line = shapely.from_wkb(row.pop("wkb_4547"))
            out.append(Pipe(cat, int(row["fid"]), row, line))
    return out


def finite(value: float | None, digits: int = 3) -> float | None:
    """Rounded, or None for None/NaN (JSON has no NaN)."""
    if value is None or math.isnan(value):
        return None
    return round(value, digits)
