"""The columns the graph is built from, projected to GK zone 38 metres in the process.

The database sends geometry as EPSG:4490 WKB (segments) and lon/lat (points); here they become
EPSG:4547 easting/northing ends and metric lengths, vectorised (shapely, pyproj) rather than
one ``ST_Transform`` per row on a database server every worker shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from analysis.inputs import METRIC_SRID
from spatial.crs import STORAGE_SRID, crs_ref, transform_xy

_STORAGE = crs_ref(STORAGE_SRID)


def metric_segments(columns: dict[str, Any]) -> dict[str, Any]:
    """Segment columns with ``x0, y0, x1, y1`` (ends) and ``length_m`` in EPSG:4547 for ``wkb_4490``."""
    wkb = columns.pop("wkb_4490")
    if not wkb:
        return {**columns, **{k: [] for k in ("x0", "y0", "x1", "y1", "length_m")}}
    lines = shapely.from_wkb(np.array(wkb, dtype=object))
    xy = shapely.get_coordinates(lines)
    x, y = transform_xy(xy[:, 0], xy[:, 1], src=_STORAGE, dst_srid=METRIC_SRID)
    lines = shapely.set_coordinates(lines, np.column_stack([x, y]))
    first, last = shapely.get_point(lines, 0), shapely.get_point(lines, -1)
    return {**columns, "x0": shapely.get_x(first).tolist(), "y0": shapely.get_y(first).tolist(),
            "x1": shapely.get_x(last).tolist(), "y1": shapely.get_y(last).tolist(),
            "length_m": shapely.length(lines).tolist()}


def metric_points(columns: dict[str, Any]) -> dict[str, Any]:
    """Point columns with ``x``, ``y`` in EPSG:4547 for ``lon``, ``lat``."""
    lon, lat = columns.pop("lon"), columns.pop("lat")
    if not lon:
        return {**columns, "x": [], "y": []}
    x, y = transform_xy(np.asarray(lon), np.asarray(lat), src=_STORAGE, dst_srid=METRIC_SRID)
    return {**columns, "x": x.tolist(), "y": y.tolist()}
