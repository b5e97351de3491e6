"""Look up the style source of a layer; layers without a known style get a plain fallback."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from layers.model import Layer
from styles.model import Kind, StyleSource
from styles.sources import builtin_sources, fallback_source

_FALLBACK_KIND: dict[str, Kind] = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
}


@cache
def _sources() -> dict[str, StyleSource]:
    return builtin_sources()


def style_ids() -> list[str]:
    """Every shipped style id, in the order ``/styles`` lists them."""
    return list(_sources())


def get_source(style_id: str) -> StyleSource | None:
    """The shipped style source ``style_id``, or None."""
    return _sources().get(style_id)


def source_for(layer: Layer) -> StyleSource:
    """The layer's style source, or a neutral one in the right geometry family."""
    found = _sources().get(layer.style_id or "")
    if found is not None:
        return found
    return _fallback(layer.id, layer.kind, layer.geometry_type, layer.title_zh, layer.title_en, layer.attributes.label)


@cache
def _fallback(
    layer_id: str, layer_kind: str, geometry_type: str | None, title_zh: str, title_en: str, label: str | None
) -> StyleSource:
    if layer_kind == "raster":
        return replace(fallback_source(), id=layer_id, kind="raster", title_zh=title_zh, title_en=title_en)
    kind: Kind = _FALLBACK_KIND.get(geometry_type or "", "polygon")
    return replace(fallback_source(), id=layer_id, kind=kind, title_zh=title_zh, title_en=title_en, label=label)


def properties_for(layer: Layer) -> tuple[str, ...]:
    """The attributes ``layer``'s style reads, in schema order.

    Vector tiles below the full-attribute zoom carry only these; anything else a click needs comes
    from the Features API, so a pipe's unique segment number need not fill every z13 tile.
    """
    wanted = set(source_for(layer).needs())
    return tuple(n for n in layer.attributes.names if n in wanted)


POLYGON_TYPES = frozenset({"Polygon", "MultiPolygon"})


def label_field(layer: Layer, z: int) -> str | None:
    """The property a polygon layer is labelled with at zoom ``z`` (via label points), if any."""
    if layer.geometry_type not in POLYGON_TYPES:
        return None
    src = source_for(layer)
    if src.label is None or z < max(src.label_minzoom, layer.min_zoom):
        return None
    return src.label if src.label in layer.attributes.names else None
