"""Reading process inputs: instants, numbers and GeoJSON geometries, refused with :class:`InvalidInput`.

Geometry inputs are GeoJSON in CRS84 (lon, lat degrees). Metric work happens in CGCS2000
Gauss-Krüger zone 38 (EPSG:4547, easting/northing metres), where Changsha lies; CRS84 and
CGCS2000 differ by centimetres, below survey precision here.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from analysis.contract import JSON, InvalidInput
from layers.query.errors import InvalidQuery
from layers.query.instants import parse_instant
from spatial.crs import crs_ref, transform_xy
from spatial.geometry import CHANGSHA_BBOX_4490

METRIC_SRID = 4547  # CGCS2000 3-degree GK zone 38 (CM 114°E), no zone prefix
_CRS84 = crs_ref(4326)


def instant(inputs: JSON, name: str = "datetime") -> dt.datetime | None:
    """The as-of instant (RFC 3339), or None for now (missing, null or ``"now"``)."""
    value = inputs.get(name)
    if value is None or value == "now":
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, "give an RFC 3339 date-time such as 2024-05-01T08:00:00Z")
    try:
        return parse_instant(value, parameter=name)
    except InvalidQuery as exc:
        raise InvalidInput(name, str(exc)) from None


def number(inputs: JSON, name: str, *, default: float | None = None, minimum: float = 0.0,
           maximum: float = 1e6) -> float | None:
    """A finite number in [minimum, maximum] (``default`` when absent)."""
    value = inputs.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(name, f"expected a number, got {value!r}")
    if value < minimum:
        raise InvalidInput(name, f"must not be negative (got {value})" if minimum == 0 else f"must be ≥ {minimum}")
    if value > maximum:
        raise InvalidInput(name, f"must be ≤ {maximum:g} (got {value})")
    return float(value)


def geometry(value: Any, name: str, kinds: tuple[str, ...]) -> BaseGeometry:
    """A GeoJSON geometry in CRS84 of one of ``kinds``, valid and simple, inside Changsha.

    Returns it in CRS84 lon/lat degrees.
    """
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or "type" not in value:
        raise InvalidInput(name, f"expected a GeoJSON {' or '.join(kinds)} in CRS84")
    try:
        geom = shape(value)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
        raise InvalidInput(name, f"unreadable GeoJSON geometry ({exc})") from None
    if geom.geom_type not in kinds:
        raise InvalidInput(name, f"expected a {' or '.join(kinds)}, got a {geom.geom_type}")
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or not bool(((abs(coords[:, 0]) <= 180) & (abs(coords[:, 1]) <= 90)).all()):
        raise InvalidInput(name, "coordinates must be longitude/latitude degrees (CRS84)")
    if not geom.is_valid:
        raise InvalidInput(name, f"invalid geometry: {shapely.is_valid_reason(geom)}")
    if geom.geom_type == "LineString" and not geom.is_simple:
        raise InvalidInput(name, "the line crosses itself")
    if geom.geom_type == "LineString" and geom.length == 0:
        raise InvalidInput(name, "the line has no length")
    minx, miny, maxx, maxy = geom.bounds
    lo_x, lo_y, hi_x, hi_y = CHANGSHA_BBOX_4490
    if minx < lo_x or maxx > hi_x or miny < lo_y or maxy > hi_y:
        raise InvalidInput(name, "lies outside Changsha; give lon/lat degrees in CRS84 (longitude first)")
    return geom


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    """A CRS84 lon/lat geometry in EPSG:4547 easting/northing metres."""
    return shapely.transform(geom, lambda xy: _stack(*transform_xy(xy[:, 0], xy[:, 1], src=_CRS84,
                                                                       dst_srid=METRIC_SRID)))


def _stack(x: Any, y: Any) -> Any:
    return np.column_stack([x, y])
