"""Which rollup cells an area covers (建筑统计 rollup): wholly inside, or on its edge.

Cells are those of :mod:`layers.building_rollup` (power-of-two degree squares, EPSG:4490). From
the coarsest cells that hold any building, each cell is tested against the area: wholly inside
(the closed square is covered, so every point in it is in the area, boundary included) → its
rollup rows count; disjoint → nothing; crossing → its four children, down to level 0, whose
crossing cells are the **edge**: their buildings are scanned and tested one by one. Only the
"inside" answer must be right for the statistics to be exact, and it is a GEOS ``covers`` on
exact corners (powers of two).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from layers.building_rollup import TOP_LEVEL, cell_size

Ints = npt.NDArray[np.int64]


@dataclass
class Cover:
    """Cells wholly inside the area (level, ix, iy) and the level-0 cells on its edge (ix, iy)."""

    level: list[int] = field(default_factory=list)
    ix: list[int] = field(default_factory=list)
    iy: list[int] = field(default_factory=list)
    edge_ix: list[int] = field(default_factory=list)
    edge_iy: list[int] = field(default_factory=list)


def _boxes(level: int, ix: Ints, iy: Ints) -> npt.NDArray[np.object_]:
    s = cell_size(level)
    boxes: npt.NDArray[np.object_] = shapely.box(ix * s, iy * s, (ix + 1) * s, (iy + 1) * s)
    return boxes


def _children(ix: Ints, iy: Ints) -> tuple[Ints, Ints]:
    dx = np.array([0, 1, 0, 1])
    dy = np.array([0, 0, 1, 1])
    return (2 * ix[:, None] + dx).ravel(), (2 * iy[:, None] + dy).ravel()


def cover(area: BaseGeometry, occupied: list[tuple[int, int]]) -> Cover:
    """The cover of ``area`` (EPSG:4490) among the ``occupied`` top-level cells (ix, iy)."""
    out = Cover()
    if not occupied or area.is_empty:
        return out
    shapely.prepare(area)
    ix = np.array([c[0] for c in occupied], dtype=np.int64)
    iy = np.array([c[1] for c in occupied], dtype=np.int64)
    for level in range(TOP_LEVEL, -1, -1):
        boxes = _boxes(level, ix, iy)
        hit = shapely.intersects(area, boxes)
        inside = hit & shapely.covers(area, boxes)
        out.level += [level] * int(inside.sum())
        out.ix += ix[inside].tolist()
        out.iy += iy[inside].tolist()
        crossing = hit & ~inside
        if level == 0:
            out.edge_ix, out.edge_iy = ix[crossing].tolist(), iy[crossing].tolist()
        else:
            ix, iy = _children(ix[crossing], iy[crossing])
    return out
