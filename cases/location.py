"""Automatic location of a report: the point gives the unit grid cell (and from its CJ/T 213 code
the 社区, 街道 and 区县); a 部件 problem also gets the nearest component of its 小类 within 20 m,
and the department comes from the component's owner, else from the class and the area.

Coordinates are EPSG:4490 longitude, latitude in degrees (CRS84 order).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from cases.codes import department_for
from cases.errors import InvalidReport, OutsideGrid
from cases.statements import bound

COMPONENT_RADIUS_M = 20.0
# 20 m is under 0.00021° of longitude at Changsha's latitude (28°); the box only feeds the index.
_BOX_DEG = 0.0003


@dataclass(frozen=True, slots=True)
class Location:
    """Where a report lies: its grid cell and what the code says, its component and department."""

    lon: float
    lat: float
    grid_code: str
    component_code: str | None
    department: str | None
    component_distance_m: float | None = None

    @property
    def district(self) -> str:
        """区县 adcode: digits 1–6 of the grid code."""
        return self.grid_code[:6]

    @property
    def street(self) -> str:
        """街道 code: digits 1–9 of the grid code."""
        return self.grid_code[:9]

    @property
    def community(self) -> str:
        """社区 code: digits 1–12 of the grid code."""
        return self.grid_code[:12]


async def component_point(conn: asyncpg.Connection, code: str) -> tuple[float, float, str, str | None]:
    """(lon, lat, 小类, owner) of the current component ``code``, EPSG:4490 degrees.

    Raises:
        InvalidReport: no current component has that code.
    """
    sql, args = bound("component", {"code": code})
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise InvalidReport(f"there is no component {code!r}")
    return float(row["lon"]), float(row["lat"]), str(row["minor_code"]), row["dept_owner"]


async def locate(
    conn: asyncpg.Connection, *, lon: float, lat: float, kind: str, small_class: str,
    component_code: str | None = None,
) -> Location:
    """Locate a report at EPSG:4490 ``lon``, ``lat`` (degrees).

    Args:
        conn: Any connection.
        lon: Longitude, degrees.
        lat: Latitude, degrees.
        kind: ``component`` or ``event``.
        small_class: The class code; for a component, the CJ/T 214 小类 searched for.
        component_code: A component the reporter named; it replaces the nearest-component search.

    Raises:
        OutsideGrid: no current unit grid cell holds the point.
        InvalidReport: a named component does not exist or is of another class.
    """
    sql, args = bound("locate", {"lon": lon, "lat": lat, "kind": kind if component_code is None else "none",
                                 "small_class": small_class, "box_deg": _BOX_DEG, "radius_m": COMPONENT_RADIUS_M})
    row = await conn.fetchrow(sql, *args)
    if row is None or row["grid_code"] is None:
        raise OutsideGrid(f"the point ({lon:.6f}, {lat:.6f}) lies outside every unit grid cell; "
                          "cases can only be filed inside the grid")
    grid = str(row["grid_code"])
    code, owner, distance = row["component_code"], row["component_owner"], row["distance_m"]
    if component_code is not None:
        _, _, minor, owner = await component_point(conn, component_code)
        if kind != "component" or minor != small_class:
            raise InvalidReport(f"component {component_code} is a {minor}, not a {kind} of class {small_class}")
        code, distance = component_code, None
    dept = department_for(kind, small_class, district=grid[:6], street=grid[:9], owner=owner)
    return Location(lon, lat, grid, code, dept, distance)
