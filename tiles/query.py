"""What a tile request asks for beyond its address: time, attributes and filter."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from layers.model import Layer
from layers.query.limits import FilterLimits
from layers.temporal import AsOf, AsRecorded, Current, During, Selection
from tiles.errors import InvalidTileParameter


@dataclass(frozen=True, slots=True)
class TileQuery:
    """Options shared by every layer of a tile request.

    Attributes:
        selection: Which versions: current (default), as of an instant, or during an interval.
        properties: Attributes to encode (None = zoom-dependent default).
        filter_text: The caller's filter and its language as given (part of the cache key).
        filters: Layer id → parsed CQL2 tree, already checked against that layer.
    """

    selection: Selection = field(default_factory=Current)
    properties: tuple[str, ...] | None = None
    filter_text: str | None = None
    filters: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def variant(self) -> str:
        """Cache-key part: "" for the default tile, else a short hash of the options."""
        if isinstance(self.selection, Current) and self.properties is None and self.filter_text is None:
            return ""
        text = "|".join([_selection_key(self.selection), ",".join(self.properties or ("*",)), self.filter_text or ""])
        return hashlib.sha1(text.encode()).hexdigest()[:20]


def _selection_key(selection: Selection) -> str:
    if isinstance(selection, Current):
        return "current"
    if isinstance(selection, AsOf):
        return f"at:{selection.at.isoformat()}"
    if isinstance(selection, During):
        return f"during:{selection.start.isoformat() if selection.start else '..'}/" + (
            selection.end.isoformat() if selection.end else ".."
        )
    assert isinstance(selection, AsRecorded)
    return f"recorded:{selection.recorded.isoformat()}:{selection.at.isoformat() if selection.at else ''}"


def check_properties(layers: Sequence[Layer], names: Sequence[str]) -> tuple[str, ...]:
    """Validate a ``properties`` list against the layers; a name no layer has is an error.

    Raises:
        InvalidTileParameter: naming the unknown properties and the known ones.
    """
    known = {n for layer in layers for n in layer.attributes.names}
    unknown = [n for n in names if n not in known]
    if unknown:
        shown = ", ".join(sorted(known)[:30])
        raise InvalidTileParameter(f"unknown properties {', '.join(unknown)}; known: {shown}")
    return tuple(dict.fromkeys(names))


def compile_filter(
    layers: Sequence[Layer], *, text: str, lang: str | None, limits: FilterLimits | None = None
) -> dict[str, Any]:
    """Parse a CQL2 filter once (within ``limits``) and check it against every layer of the request.

    Raises:
        layers.query.errors.InvalidQuery: unreadable filters, unknown properties, wrong types.
    """
    from layers.query.cql2 import parse, translate
    from layers.sql import Params

    language = (lang or "cql2-text").lower()
    if language not in ("cql2-text", "cql2-json"):
        raise InvalidTileParameter("filter-lang must be cql2-text or cql2-json")
    tree = parse(text, lang=language, limits=limits)
    out: dict[str, Any] = {}
    for layer in layers:
        translate(tree, layer=layer, params=Params())  # raises for properties this layer lacks
        out[layer.id] = tree
    return out
