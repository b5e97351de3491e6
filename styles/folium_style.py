"""folium styling for report and quick-look maps, from the same style sources.

On screen the web map shows 路灯/信号 and 广播电视 in their own shades; reports are documents, so
``standard=True`` keeps CJJ 61's colours (every 电力 pipe red, every 通信 pipe green).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layers.model import Layer
from styles.catalog import source_for
from styles.model import hex_color

StyleFunction = Callable[[dict[str, Any]], dict[str, Any]]


def style_function(layer: Layer, *, standard: bool = False) -> StyleFunction:
    """A folium ``GeoJson`` style_function colouring features as the layer's style does."""
    src = source_for(layer)
    geometry = layer.geometry_type or ""
    is_line = geometry in ("LineString", "MultiLineString")
    outline = hex_color(src.outline) if src.outline else None

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        props = feature.get("properties") or {}
        swatch = src.swatch_for(props.get(src.by) if src.by else None)
        color = swatch.standard_color if standard else swatch.color
        out: dict[str, Any] = {
            "color": color if is_line or not src.fill else (outline or color),
            "weight": max(1.0, src.width if is_line else 1.0),
            "opacity": 1.0,
            "fillColor": color,
            "fillOpacity": (src.opacity if src.fill else 0.0) if not is_line else 0.0,
        }
        if src.dashed_when and str(props.get(src.dashed_when[0])) in src.dashed_when[1]:
            out["dashArray"] = "6 4"
        return out

    return style


def marker_style(layer: Layer, feature: dict[str, Any], *, standard: bool = False) -> dict[str, Any]:
    """Circle-marker options for point layers (folium ``CircleMarker`` keyword arguments)."""
    src = source_for(layer)
    props = feature.get("properties") or {}
    swatch = src.swatch_for(props.get(src.by) if src.by else None)
    color = swatch.standard_color if standard else swatch.color
    return {
        "radius": 4,
        "color": hex_color(src.outline) if src.outline else color,
        "weight": 1,
        "fill": True,
        "fill_color": color,
        "fill_opacity": 0.9,
    }


def legend_html(layer: Layer, *, standard: bool = False, lang: str = "zh") -> str:
    """A small HTML legend block (escaped text) for a folium map."""
    from html import escape

    src = source_for(layer)
    title = layer.title_zh if lang == "zh" else layer.title_en
    rows = []
    for s in src.classes or (src.default,):
        color = s.standard_color if standard else s.color
        label = s.label_zh if lang == "zh" else s.label_en
        rows.append(
            f'<div><span style="display:inline-block;width:12px;height:12px;background:{color};'
            f'margin-right:6px;border:1px solid #666"></span>{escape(label)}</div>'
        )
    badge = ' <b style="color:#b00">示例数据</b>' if layer.metadata.sample else ""
    return (
        f'<div class="onemap-legend" style="background:#fff;padding:6px 8px;font:12px sans-serif;'
        f'border:1px solid #999"><div><b>{escape(title)}</b>{badge}</div>{"".join(rows)}</div>'
    )
