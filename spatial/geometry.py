"""Geometry checks and repair for features on their way into storage.

Geometries here are shapely objects in **CGCS2000 lon/lat degrees (EPSG:4490),
x = longitude**. Checks return a reason string instead of raising, so batch
validation can collect every problem of a delivery in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import shapely
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon
from shapely.geometry.base import BaseGeometry

# Changsha prefecture, with a margin, in EPSG:4490 degrees (domain.md §3.1:
# about 111°53′–114°15′E; the boundary files give 27.85–28.67°N).
CHANGSHA_BBOX_4490 = (111.80, 27.80, 114.35, 28.72)

GEOMETRY_TYPES = frozenset(
    {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
)
_PROMOTE = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
_MULTI = {"MultiPoint": MultiPoint, "MultiLineString": MultiLineString, "MultiPolygon": MultiPolygon}


@dataclass(frozen=True, slots=True)
class GeometryProblem:
    """Why a geometry was refused (``code`` is a stable slug reports group by)."""

    code: str
    message: str
    location: tuple[float, float] | None = None  # lon/lat degrees of the defect, when GEOS names one


# GEOS (the same library PostGIS's ST_IsValidDetail calls) ends its reason with "[x y]".
_REASON_AT = re.compile(r"^(?P<reason>[^\[]*)\[(?P<x>[-+0-9.eE]+)\s+(?P<y>[-+0-9.eE]+)\]")


def invalidity(geom: BaseGeometry) -> GeometryProblem:
    """Why ``geom`` (known invalid) is invalid, with the lon/lat of the defect (e.g. a self-intersection)."""
    text = shapely.is_valid_reason(geom)
    found = _REASON_AT.match(text)
    if found is None:
        return GeometryProblem("invalid", f"invalid geometry: {text}")
    x, y = float(found["x"]), float(found["y"])
    reason = found["reason"].strip()
    return GeometryProblem("invalid", f"invalid geometry: {reason} at {x:.7f}, {y:.7f}", (x, y))


def coerce_type(geom: BaseGeometry, target: str) -> BaseGeometry | GeometryProblem:
    """Return ``geom`` as ``target`` type, promoting single to multi where the layer is multi.

    A multi-part input with exactly one part is accepted for a single-part layer.
    """
    kind = geom.geom_type
    if kind == target:
        return geom
    if _PROMOTE.get(kind) == target:
        return _MULTI[target]([geom])
    if target in _PROMOTE and kind == _PROMOTE[target]:
        parts = list(getattr(geom, "geoms", []))
        if len(parts) == 1:
            return parts[0]
        return GeometryProblem("wrong-type", f"{kind} with {len(parts)} parts where the layer holds {target}")
    return GeometryProblem("wrong-type", f"{kind} where the layer holds {target}")


def check_geometry(
    geom: BaseGeometry | None,
    *,
    target: str,
    bbox_4490: tuple[float, float, float, float] | None = CHANGSHA_BBOX_4490,
    make_valid: bool = False,
) -> tuple[BaseGeometry | None, list[GeometryProblem], list[str]]:
    """Check one geometry for a layer whose type is ``target``.

    Args:
        geom: Shapely geometry in EPSG:4490 lon/lat degrees.
        target: The layer's geometry type.
        bbox_4490: Extent the feature must fall in (lon/lat degrees), or None.
        make_valid: Repair invalid geometries instead of refusing them.

    Returns:
        (geometry to store or None, problems, repairs made). A geometry is stored
        only when ``problems`` is empty.
    """
    problems: list[GeometryProblem] = []
    repairs: list[str] = []
    if geom is None or geom.is_empty:
        return None, [GeometryProblem("empty", "geometry is missing or empty")], repairs
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not bool((abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()):
        return None, [GeometryProblem("out-of-range", "coordinates are not longitude/latitude degrees")], repairs
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        if not make_valid:
            return None, [invalidity(geom)], repairs
        fixed = shapely.make_valid(geom)
        if fixed.geom_type == "GeometryCollection":
            wanted = target.removeprefix("Multi")
            parts = [g for g in getattr(fixed, "geoms", []) if g.geom_type.removeprefix("Multi") == wanted]
            fixed = shapely.union_all(parts) if parts else fixed
        repairs.append(f"repaired ({reason}) with make_valid")
        geom = fixed
    coerced = coerce_type(geom, target)
    if isinstance(coerced, GeometryProblem):
        if repairs:  # the repair would change the geometry's type: refuse rather than store something else
            coerced = GeometryProblem("repair-changes-type", f"{repairs[0]}, but the result is a {coerced.message}")
        return None, [coerced], repairs
    if bbox_4490 is not None:
        minx, miny, maxx, maxy = coerced.bounds
        if minx < bbox_4490[0] or maxx > bbox_4490[2] or miny < bbox_4490[1] or maxy > bbox_4490[3]:
            problems.append(
                GeometryProblem(
                    "outside-city",
                    f"lies outside Changsha ({minx:.5f},{miny:.5f} – {maxx:.5f},{maxy:.5f}); "
                    "wrong CRS or swapped axes?",
                )
            )
    return (coerced if not problems else None), problems, repairs
