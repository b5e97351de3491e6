"""Carrying a geometry literal from the caller's CRS into storage (EPSG:4490 lon/lat).

Shared by CQL2 spatial literals (:mod:`layers.query.cql2`) and Part 4 request bodies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from spatial.crs import STORAGE_SRID, CrsRef, transform_xy


def to_storage(geom: BaseGeometry, crs: CrsRef, *, fail: Callable[[str], Exception]) -> BaseGeometry:
    """Carry a geometry given in ``crs`` (its axis order) into EPSG:4490 lon/lat."""
    swap = crs.lat_first or crs.north_first

    def move(coords: np.ndarray) -> np.ndarray:
        xs, ys = (coords[:, 1], coords[:, 0]) if swap else (coords[:, 0], coords[:, 1])
        if crs.srid in (STORAGE_SRID, 4326) and crs.offset is None:
            return np.column_stack([xs, ys])
        ox, oy = transform_xy(xs, ys, src=crs, dst_srid=STORAGE_SRID)
        return np.column_stack([ox, oy])

    try:
        moved = shapely.transform(geom, move)
    except Exception as exc:
        raise fail(f"the geometry cannot be transformed from {crs.uri}: {exc}") from None
    coords = shapely.get_coordinates(moved)
    if not bool((np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()):
        raise fail(f"the geometry is outside the degree range; is it really in {crs.uri} axis order?")
    return moved
