"""Generalisation by zoom: which features, how simplified, and which attributes go into a tile.

Rules, in pixels of a 256-px tile so they mean the same in every tile matrix set:

* below ``full_detail_zoom`` a line or polygon narrower and shorter than half a pixel is dropped
  (it would draw nothing), and geometry is simplified to a quarter pixel;
* every generalisation *level* (used when a tile is over the size ceiling) doubles both;
* below ``full_attributes_zoom`` only the attributes the layer's style uses are sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from layers.model import Layer
from layers.overview import POINT_TYPES, Z0_PIXEL_DEG
from spatial.tms import degrees_per_pixel

FULL_DETAIL_ZOOM = 16


@dataclass(frozen=True, slots=True)
class LevelRule:
    """Thresholds for one layer at one zoom and level, in pixels."""

    min_size_px: float
    simplify_px: float


@dataclass(frozen=True, slots=True)
class Generalisation:
    """Zoom-dependent generalisation settings.

    Attributes:
        full_attributes_zoom: Zoom from which every attribute is sent.
        full_detail_zoom: Zoom from which geometry is neither filtered by size nor simplified.
    """

    full_attributes_zoom: int = 16
    full_detail_zoom: int = FULL_DETAIL_ZOOM

    def for_level(self, layer: Layer, z: int, level: int) -> LevelRule:
        """The size filter and simplification (in pixels) of generalisation ``level`` at zoom ``z``."""
        factor = float(2**level)
        if z >= self.full_detail_zoom and level == 0:
            return LevelRule(0.0, 0.0)
        return LevelRule(min_size_px=0.5 * factor, simplify_px=0.25 * factor)

    def columns(
        self,
        layer: Layer,
        z: int,
        *,
        style_needs: Sequence[str],
        requested: Sequence[str] | None = None,
        level: int = 0,
    ) -> tuple[str, ...]:
        """Attribute columns for ``layer`` at zoom ``z``, in schema order.

        ``requested`` (the ``properties`` parameter) wins when given; otherwise style attributes
        below :attr:`full_attributes_zoom` (and at any level above 0), everything from there on.
        """
        names = layer.attributes.names
        if requested is not None:
            wanted = set(requested)
        elif z < self.full_attributes_zoom or level > 0:
            wanted = set(style_needs)
        else:
            wanted = set(names)
        return tuple(n for n in names if n in wanted)


def overview_zoom(tms_id: str, z: int, min_size_px: float) -> int:
    """The largest ``tile_zoom`` (:mod:`layers.overview`) a feature may have to be kept in a tile of
    ``tms_id`` at zoom ``z`` whose size filter is ``min_size_px`` pixels.

    ``tile_zoom`` counts in Web Mercator zooms; a geographic tile matrix set's zoom ``z`` has the
    pixel width (in degrees of longitude) of Mercator zoom ``z + 1``, hence the offset. Exact when
    ``min_size_px`` is a power of two (every generalisation level's is); otherwise the threshold
    rounds up to the next power of two.
    """
    dlon, _ = degrees_per_pixel(tms_id, z, lat=0.0)
    mercator_zoom = math.log2(Z0_PIXEL_DEG / dlon)
    return math.floor(mercator_zoom - 1 - math.log2(min_size_px) + 1e-9)


def filters_by_size(layer: Layer, rule: LevelRule) -> bool:
    """Whether ``rule`` drops small features of ``layer`` (points have no size)."""
    return rule.min_size_px > 0 and layer.geometry_type not in POINT_TYPES
