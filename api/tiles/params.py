"""Query parameters shared by the tile, style and map routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.auth import HiddenLayer
from api.context import AppContext
from api.errors import InvalidParameter
from layers.errors import UnknownLayer
from layers.model import Layer
from layers.principals import Principal
from layers.query.instants import parse_datetime as parse_instants
from layers.query.limits import FilterLimits
from layers.temporal import Current, Selection
from tiles.query import TileQuery, check_properties, compile_filter

_TILE_INDEX_MAX = 2**31 - 1


def parse_datetime(text: str | None) -> Selection:
    """``datetime`` → current (absent), as of an instant, or an interval (as the Features API reads it)."""
    if text is None or not text.strip():
        return Current()
    return parse_instants(text)


def parse_list(text: str | None) -> list[str] | None:
    """A comma-separated parameter → its non-empty items (None when absent)."""
    if text is None:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


def tile_query(
    layers: Sequence[Layer],
    *,
    datetime: str | None,
    properties: str | None,
    filter_text: str | None = None,
    filter_lang: str | None = None,
    limits: FilterLimits | None = None,
) -> TileQuery:
    """Validate the tile query parameters against the requested layers (the filter within ``limits``)."""
    names = parse_list(properties)
    props = check_properties(layers, names) if names is not None else None
    filters: dict[str, Any] = {}
    text = None
    if filter_text is not None and filter_text.strip():
        filters = compile_filter(layers, text=filter_text, lang=filter_lang, limits=limits)
        text = f"{(filter_lang or 'cql2-text').lower()}:{filter_text}"
    return TileQuery(selection=parse_datetime(datetime), properties=props, filter_text=text, filters=filters)


def readable_layers(
    ctx: AppContext, principal: Principal, ids: list[str] | None, *, vector: bool = True
) -> list[Layer]:
    """The layers named in ``collections=`` (404 for any the caller cannot read), or every readable one."""
    registry = ctx.registry
    if ids is None:
        return [layer for layer in registry.all() if principal.can_read(layer) and (layer.is_vector or not vector)]
    out = []
    for layer_id in dict.fromkeys(ids):
        layer = registry.find(layer_id)
        if layer is None:
            raise UnknownLayer(f"there is no collection {layer_id!r}")
        if not principal.can_read(layer):
            raise HiddenLayer(layer_id)
        if vector and not layer.is_vector:
            raise InvalidParameter(f"{layer_id} is a raster layer; its tiles are at /collections/{layer_id}/map/tiles")
        out.append(layer)
    if not out:
        raise InvalidParameter("collections is empty")
    return out


def check_indices(z: int, y: int, x: int) -> None:
    """Refuse negative or absurd tile indices (400) before they reach the tile matrix set."""
    if not (0 <= z <= 30 and 0 <= y <= _TILE_INDEX_MAX and 0 <= x <= _TILE_INDEX_MAX):
        raise InvalidParameter("tileMatrix, tileRow and tileCol must be non-negative integers")
