"""Colours of 3D features, from the same style sources as the 2D map (one style source per layer).

Pipes and pipe points take their category's CJJ 61 on-screen colour; buildings their use's colour.
"""

from __future__ import annotations

from collections.abc import Mapping

from layers.model import Layer
from styles.catalog import source_for

Rgba = tuple[int, int, int, int]


def feature_rgba(layer: Layer, props: Mapping[str, object]) -> Rgba:
    """The RGBA (0–255) a 3D viewer draws this feature of ``layer`` in."""
    source = source_for(layer)
    swatch = source.swatch_for(props.get(source.by) if source.by else None)
    r, g, b = swatch.rgb
    return (r, g, b, 255)
