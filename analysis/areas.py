"""The area a statistic covers (统计范围): a district, a street, a community, a unit grid cell or a polygon.

The ``area`` input is a GeoJSON Polygon/MultiPolygon in CRS84, or an object with one key:

* ``{"district": "430104"}`` or ``{"district": "岳麓区"}``: ``admin_districts`` by GB/T 2260 code or
  name (``430100`` / 长沙市 is the whole city);
* ``{"street": "430104001"}``: the unit grid cells whose code starts with these 9 digits
  (6 district + 3 street, CJ/T 213) — streets exist as grid attributes only, so the area is the
  union of their cells; ``{"street": "望岳街道"}`` (a name) is the ``admin_subdistricts`` boundary;
* ``{"community": "430104001002"}``: the union of that community's grid cells (12 digits);
* ``{"grid": "43010400100201"}``: one unit grid cell (14 or 15 digits).

Named areas are taken in their current version (boundaries are not versioned with the buildings).
Geometry is returned as EPSG:4490 WKB (lon/lat degrees).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg
import shapely

from analysis.contract import JSON, InvalidInput
from analysis.features import statement
from analysis.inputs import geometry
from analysis.network.categories import layer
from layers.sql import Params

DISTRICTS, SUBDISTRICTS, GRID = "admin_districts", "admin_subdistricts", "grid_cells"
KINDS = ("district", "street", "community", "grid")
_DIGITS = {"street": (re.compile(r"^\d{9}$"), "9 digits"), "community": (re.compile(r"^\d{12}$"), "12 digits"),
           "grid": (re.compile(r"^\d{14,15}$"), "14 or 15 digits")}


@dataclass(frozen=True, slots=True)
class AreaRequest:
    """What an ``area`` input names, before the database is asked: kind and value, or a polygon."""

    kind: str  # district | street | community | grid | polygon
    value: str = ""
    polygon_wkb: bytes = b""

    @property
    def layer_id(self) -> str | None:
        """The layer the area is read from (for the access check), None for a drawn polygon."""
        if self.kind == "polygon":
            return None
        if self.kind == "district":
            return DISTRICTS
        if self.kind == "street" and not self.value.isdigit():
            return SUBDISTRICTS
        return GRID


@dataclass(frozen=True, slots=True)
class Area:
    """A resolved area: EPSG:4490 WKB, what it is, and how many grid cells made it (1 otherwise)."""

    kind: str
    code: str
    name: str
    wkb: bytes
    source: str
    parts: int


def parse_area(value: object, name: str = "area") -> AreaRequest:
    """Read the ``area`` input without touching the database.

    Raises:
        InvalidInput: neither a polygon nor one of the area keys with a well-formed value.
    """
    if isinstance(value, dict) and ("type" in value or "coordinates" in value):
        geom = geometry(value, name, ("Polygon", "MultiPolygon"))
        return AreaRequest("polygon", polygon_wkb=bytes(shapely.to_wkb(geom, output_dimension=2)))
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in KINDS:
        raise InvalidInput(name, "give a GeoJSON Polygon, or one of {\"district\": …}, {\"street\": …}, "
                                 "{\"community\": …}, {\"grid\": …}")
    kind, raw = next(iter(value.items()))
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not text:
        raise InvalidInput(name, f"{kind}: give a code or a name")
    digits = _DIGITS.get(kind)
    if digits is not None and text.isdigit() and not digits[0].match(text):
        raise InvalidInput(name, f"{kind}: its code has {digits[1]} (CJ/T 213)")
    if kind in ("community", "grid") and not text.isdigit():
        raise InvalidInput(name, f"{kind}: give its CJ/T 213 code (digits)")
    return AreaRequest(kind, value=text)


async def resolve_area(conn: asyncpg.Connection, req: AreaRequest, name: str = "area") -> Area:
    """The area's geometry from the database (or the drawn polygon itself).

    Raises:
        InvalidInput: no such district, street, community or grid cell.
    """
    if req.kind == "polygon":
        return Area("polygon", "", "", req.polygon_wkb, "polygon", 1)
    if req.layer_id in (DISTRICTS, SUBDISTRICTS):
        return await _admin(conn, req, name)
    return await _grid(conn, req, name)


async def _admin(conn: asyncpg.Connection, req: AreaRequest, name: str) -> Area:
    lyr = layer(req.layer_id or DISTRICTS)
    params = Params()
    code_col = "adcode" if lyr.id == DISTRICTS else "street_code"
    sql = statement("area_admin.sql").format(table=lyr.table, code=code_col, value=params.add(req.value, "text"))
    row = await conn.fetchrow(sql, *params.values)
    if row is None:
        raise InvalidInput(name, f"no {req.kind} {req.value!r} in {lyr.id}")
    return Area(req.kind, row["code"] or "", row["name"], bytes(row["wkb"]), lyr.id, 1)


async def _grid(conn: asyncpg.Connection, req: AreaRequest, name: str) -> Area:
    lyr = layer(GRID)
    params = Params()
    v = req.value
    if req.kind == "grid":
        where = f"grid_code = {params.add(v, 'text')}"
    else:
        where = f"district_adcode = {params.add(v[:6], 'text')} AND street_no = {params.add(v[6:9], 'text')}"
        if req.kind == "community":
            where += f" AND community_no = {params.add(v[9:12], 'text')}"
    row = await conn.fetchrow(statement("area_grid.sql").format(table=lyr.table, where=where), *params.values)
    if row is None or row["wkb"] is None:
        raise InvalidInput(name, f"no unit grid cells under {req.kind} code {v}")
    return Area(req.kind, v, "", bytes(row["wkb"]), f"{GRID} (union of {row['parts']} cells)", int(row["parts"]))


def area_json(area: Area, area_m2: float) -> JSON:
    """The area as reported in the statistics."""
    return {"kind": area.kind, "code": area.code, "name": area.name, "source": area.source,
            "cells": area.parts if area.source.startswith(GRID) else None, "area_m2": round(area_m2, 1)}
