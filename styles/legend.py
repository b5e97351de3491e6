"""The web map's legend, compiled from the same style sources as the MapLibre style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from layers.model import GROUPS_EN, Layer
from styles.catalog import source_for
from styles.model import hex_color

SAMPLE_BADGE_ZH = "示例数据"
SAMPLE_BADGE_EN = "sample data"


def _symbol(layer: Layer, kind: str) -> str:
    if not layer.is_vector or kind == "raster":
        return "raster"
    if layer.geometry_type in ("Point", "MultiPoint"):
        return "circle"
    if layer.geometry_type in ("LineString", "MultiLineString"):
        return "line"
    return "fill" if source_for(layer).fill else "outline"


def legend_entry(layer: Layer) -> dict[str, Any]:
    """One collection's legend: title, group, sample badge, and its colour classes."""
    src = source_for(layer)
    entry: dict[str, Any] = {
        "collection": layer.id,
        "title_zh": layer.title_zh,
        "title_en": layer.title_en,
        "group": layer.group,
        "group_en": GROUPS_EN.get(layer.group, layer.group),
        "access": layer.access,
        "sample": layer.metadata.sample,
        "badge_zh": SAMPLE_BADGE_ZH if layer.metadata.sample else None,
        "badge_en": SAMPLE_BADGE_EN if layer.metadata.sample else None,
        "symbol": _symbol(layer, src.kind),
        "style": src.id,
        "heading_zh": src.title_zh,
        "heading_en": src.title_en,
        "classified_by": src.by,
        "items": [
            {
                "value": s.value,
                "label_zh": s.label_zh,
                "label_en": s.label_en,
                "color": s.color,
                "standard_color": s.standard_color,
            }
            for s in (src.classes + ((src.default,) if src.by and src.classes else ())) or (src.default,)
        ],
    }
    if src.raster is not None:
        entry["unit"] = src.raster.unit
        if not src.raster.categorical:
            entry["gradient"] = [{"value": v, "color": hex_color(rgb)} for v, rgb in src.raster.stops]
    if src.kind == "building":
        entry["extrusion"] = {"height": src.height, "floors": src.floors, "metres_per_floor": 3}
    if src.dashed_when:
        entry["dashed"] = {
            "property": src.dashed_when[0],
            "values": list(src.dashed_when[1]),
            "label_zh": "废弃/空管（虚线）",
            "label_en": "Abandoned or empty (dashed)",
        }
    return entry


def legend(layers: Sequence[Layer]) -> list[dict[str, Any]]:
    """The legend of ``layers``: one :func:`legend_entry` each, in the order given."""
    return [legend_entry(layer) for layer in layers]
