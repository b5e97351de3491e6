"""The ``bbox``/``bbox-crs`` parameters, turned into a PostGIS predicate on ``geom`` (EPSG:4490).

OGC API Features Part 2: bbox coordinates follow the axis order of ``bbox-crs``
(latitude first for EPSG:4326/4490, northing first for EPSG:4547/4526), and CRS84
(longitude, latitude) when no ``bbox-crs`` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from layers.query.errors import InvalidQuery
from layers.sql import Params
from spatial.crs import CRS84, STORAGE_SRID, CrsRef, transform_xy

# Points per edge when a projected bbox is carried into degrees: GK and Mercator edges
# are curves in lon/lat, and a densified ring keeps the answer within centimetres.
_EDGE_POINTS = 16


@dataclass(frozen=True, slots=True)
class Bbox:
    """A bbox in storage CRS: either an axis-aligned envelope or a (densified) polygon.

    Attributes:
        envelope_4490: (min lon, min lat, max lon, max lat) in EPSG:4490 degrees.
        polygon_wkb: The exact area as WKB in EPSG:4490 when the bbox was projected.
    """

    envelope_4490: tuple[float, float, float, float]
    polygon_wkb: bytes | None = None

    def predicate(self, params: Params, *, column: str = "geom") -> str:
        """SQL that is true for geometries intersecting the bbox (uses the GiST index)."""
        if self.polygon_wkb is not None:
            poly = params.add(self.polygon_wkb)
            return f"ST_Intersects({column}, ST_GeomFromWKB({poly}, {STORAGE_SRID}))"
        xmin, ymin, xmax, ymax = (params.add(v, "float8") for v in self.envelope_4490)
        return f"ST_Intersects({column}, ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, {STORAGE_SRID}))"


def parse_numbers(text: str, *, parameter: str = "bbox") -> list[float]:
    """The 4 or 6 finite numbers of a bbox parameter, in the order given (400 otherwise)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (4, 6):
        raise InvalidQuery(
            f"{parameter} needs 4 numbers (minx,miny,maxx,maxy) or 6 with heights; got {len(parts)}",
            parameter=parameter,
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidQuery(f"{parameter} values must be numbers: {text!r}", parameter=parameter) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidQuery(f"{parameter} values must be finite numbers", parameter=parameter)
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    return values


def parse_bbox(text: str, *, crs: CrsRef = CRS84) -> Bbox:
    """Parse ``bbox`` given in ``crs`` (axis order of that CRS) into a storage-CRS :class:`Bbox`.

    Raises:
        InvalidQuery: wrong count, non-numbers, inverted corners, or out-of-range degrees.
    """
    a1, a2, b1, b2 = parse_numbers(text)
    # Axis order of the CRS → x/y (lon/lat or easting/northing).
    if crs.lat_first or crs.north_first:
        xmin, ymin, xmax, ymax = a2, a1, b2, b1
    else:
        xmin, ymin, xmax, ymax = a1, a2, b1, b2
    if xmin > xmax or ymin > ymax:
        raise InvalidQuery(
            "bbox lower corner must come before the upper corner "
            "(crossing the antimeridian is not supported)",
            parameter="bbox",
        )
    if crs.is_geographic:
        if not (-180 <= xmin <= 180 and -180 <= xmax <= 180 and -90 <= ymin <= 90 and -90 <= ymax <= 90):
            order = "lat,lon" if crs.lat_first else "lon,lat"
            raise InvalidQuery(
                f"bbox is outside the valid degree range; {crs.uri} expects {order}", parameter="bbox"
            )
        if crs.offset is None:
            return Bbox((xmin, ymin, xmax, ymax))
    ring = _densified_ring(xmin, ymin, xmax, ymax)
    try:
        xs, ys = transform_xy(ring[:, 0], ring[:, 1], src=crs, dst_srid=STORAGE_SRID)
    except Exception as exc:  # pyproj raises several types for out-of-area input
        raise InvalidQuery(f"bbox cannot be transformed from {crs.uri}: {exc}", parameter="bbox") from None
    poly = Polygon(np.column_stack([xs, ys]))
    minx, miny, maxx, maxy = poly.bounds
    return Bbox((minx, miny, maxx, maxy), shapely.to_wkb(poly))


def _densified_ring(xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, _EDGE_POINTS, endpoint=False)
    bottom = np.column_stack([xmin + (xmax - xmin) * t, np.full_like(t, ymin)])
    right = np.column_stack([np.full_like(t, xmax), ymin + (ymax - ymin) * t])
    top = np.column_stack([xmax - (xmax - xmin) * t, np.full_like(t, ymax)])
    left = np.column_stack([np.full_like(t, xmin), ymax - (ymax - ymin) * t])
    ring = np.vstack([bottom, right, top, left])
    return np.vstack([ring, ring[:1]])
