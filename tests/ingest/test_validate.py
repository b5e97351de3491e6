"""Geometry checks that keep the delivered WKB: the same bytes as encoding the geometry again."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from ingest.validate import check_geometries


def _wkb(geoms: list[object], **kw: object) -> list[bytes | None]:
    return [None if g is None else shapely.to_wkb(g, **kw) for g in geoms]


def test_delivered_wkb_is_kept_exactly_when_it_is_what_encoding_would_write() -> None:
    square = box(112.95, 28.2, 112.951, 28.201)
    geoms = [
        square,  # promoted to a one-part MultiPolygon
        MultiPolygon([square]),  # kept as it is
        MultiPolygon([square, box(112.96, 28.2, 112.961, 28.201)]),
        Polygon([(112.95, 28.2, 5), (112.951, 28.2, 5), (112.951, 28.201, 5), (112.95, 28.2, 5)]),  # Z: dropped
        Polygon([(112.95, 28.2), (112.951, 28.201), (112.951, 28.2), (112.95, 28.201), (112.95, 28.2)]),  # bow-tie
        Point(112.95, 28.2),  # wrong type
        None,
    ]
    delivered = _wkb(geoms)
    delivered[1] = shapely.to_wkb(geoms[1], byte_order=0)  # big-endian: encoded again, not kept
    arr = np.array([None if w is None else shapely.from_wkb(w) for w in delivered], dtype=object)
    plain, plain_errors, _ = check_geometries(arr, target="MultiPolygon")
    kept, kept_errors, _ = check_geometries(arr, target="MultiPolygon", source_wkb=delivered)
    assert kept == plain
    assert kept_errors.keys() == plain_errors.keys() == {4, 5, 6}
    assert kept[2] is delivered[2]  # the delivered bytes themselves, not a copy
    assert kept[0] is not None and shapely.from_wkb(kept[0]).equals(MultiPolygon([square]))
