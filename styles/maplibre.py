"""Compile style sources into MapLibre GL style JSON (style spec version 8).

Every style layer carries ``metadata["onemap:collection"]`` and ``["onemap:group"]`` so a client
(our web map) can switch a collection's layers on and off and set their opacity together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from layers.model import Layer
from styles.catalog import POLYGON_TYPES, source_for
from styles.model import StyleSource, hex_color

FONT_STACK = ["Noto Sans Regular"]
LABELS_SUFFIX = "_labels"  # the label-point layer tiles carry for labelled polygon layers
BACKGROUND = "#f4f1ea"
# Draw order, bottom to top; anything unlisted goes just below the labels.
ORDER = [
    "landuse",
    "water_areas",
    "power_facilities",
    "grid_cells",
    "streets_sample",
    "roads",
    "water_lines",
    "buildings",
    "pipeline",
    "city_components",
    "rail_stations",
    "admin_subdistricts",
    "admin_districts",
]
Json = dict[str, Any]


def _rank(layer: Layer) -> int:
    key = "pipeline" if layer.id.startswith("pipeline_") else layer.id
    if not layer.is_vector:
        return 1  # rasters sit just above land use
    return ORDER.index(key) * 10 + (2 if layer.id.endswith("_points") else 0) if key in ORDER else 9_000


def _color(src: StyleSource) -> Any:
    if not src.by or not src.classes:
        return src.default.color
    value: Any = ["to-string", ["get", src.by]]
    if src.by_prefix:
        value = ["slice", value, 0, src.by_prefix]
    expr: list[Any] = ["match", value]
    for s in src.classes:
        expr += [s.value, s.color]
    expr.append(src.default.color)
    return expr


def _width(base: float) -> Any:
    return ["interpolate", ["exponential", 1.5], ["zoom"], 10, round(base * 0.3, 2), 16, base, 20, base * 3]


def _meta(layer: Layer) -> Json:
    return {"onemap:collection": layer.id, "onemap:group": layer.group}


def _label(src: StyleSource, layer: Layer, source_id: str, *, line: bool = False) -> Json:
    assert src.label is not None
    polygon = layer.geometry_type in POLYGON_TYPES
    out: Json = {
        "id": f"{layer.id}-label",
        "type": "symbol",
        "source": source_id,
        # Polygons are labelled from their label points (one per feature), not per tile piece.
        "source-layer": layer.id + LABELS_SUFFIX if polygon else layer.id,
        "minzoom": max(src.label_minzoom, layer.min_zoom),
        "metadata": {**_meta(layer), "onemap:role": "label"},
        "filter": ["has", src.label],
        "layout": {
            "text-field": ["to-string", ["get", src.label]],
            "text-font": FONT_STACK,
            "text-size": 12,
            "text-max-width": 10,
            **({"symbol-placement": "line"} if line else {}),
        },
        "paint": {"text-color": "#333333", "text-halo-color": "#ffffff", "text-halo-width": 1.5},
    }
    return out


def style_layers(layer: Layer, *, source_id: str) -> list[Json]:
    """The MapLibre layers that draw ``layer`` from ``source_id`` (vector source-layer = layer id)."""
    src = source_for(layer)
    common: Json = {
        "source": source_id,
        "minzoom": layer.min_zoom,
        "maxzoom": min(layer.max_zoom + 1, 24),
        "metadata": _meta(layer),
    }
    if src.kind == "raster" or not layer.is_vector:
        return [{"id": layer.id, "type": "raster", **common, "paint": {"raster-opacity": src.opacity}}]
    vec = {**common, "source-layer": layer.id}
    geometry = layer.geometry_type or ""
    out: list[Json] = []
    if src.kind == "building":
        height = ["coalesce", ["get", src.height or "height_m"], ["*", ["get", src.floors or "floors"], 3], 10]
        out.append(
            {
                "id": layer.id,
                "type": "fill",
                **vec,
                "paint": {
                    "fill-color": _color(src),
                    "fill-opacity": src.opacity,
                    "fill-outline-color": hex_color(src.outline or (120, 120, 120)),
                },
            }
        )
        out.append(
            {
                "id": f"{layer.id}-3d",
                "type": "fill-extrusion",
                **vec,
                "metadata": {**_meta(layer), "onemap:role": "3d"},
                "layout": {"visibility": "none"},
                "paint": {
                    "fill-extrusion-color": _color(src),
                    "fill-extrusion-height": height,
                    "fill-extrusion-base": 0,
                    "fill-extrusion-opacity": 0.9,
                },
            }
        )
    elif geometry in ("Point", "MultiPoint"):
        radius = ["interpolate", ["linear"], ["zoom"], max(layer.min_zoom, 8), src.width * 0.4, 18, src.width]
        out.append(
            {
                "id": layer.id,
                "type": "circle",
                **vec,
                "paint": {
                    "circle-color": _color(src),
                    "circle-radius": radius,
                    "circle-stroke-color": hex_color(src.outline or (255, 255, 255)),
                    "circle-stroke-width": 1,
                    "circle-opacity": src.opacity,
                },
            }
        )
    elif geometry in ("LineString", "MultiLineString"):
        paint = {"line-color": _color(src), "line-width": _width(src.width), "line-opacity": src.opacity}
        layout = {"line-cap": "round", "line-join": "round"}
        if src.outline is not None and src.kind == "line" and src.width >= 3:
            out.append(
                {
                    "id": f"{layer.id}-casing",
                    "type": "line",
                    **vec,
                    "layout": layout,
                    "metadata": {**_meta(layer), "onemap:role": "casing"},
                    "paint": {"line-color": hex_color(src.outline), "line-width": _width(src.width + 1.5)},
                }
            )
        if src.dashed_when:
            prop, values = src.dashed_when
            dashed = ["in", ["to-string", ["get", prop]], ["literal", list(values)]]
            out.append(
                {"id": layer.id, "type": "line", **vec, "filter": ["!", dashed], "layout": layout, "paint": paint}
            )
            out.append(
                {
                    "id": f"{layer.id}-dashed",
                    "type": "line",
                    **vec,
                    "filter": dashed,
                    "metadata": {**_meta(layer), "onemap:role": "dashed"},
                    "paint": {**paint, "line-dasharray": [2, 2]},
                }
            )
        else:
            out.append({"id": layer.id, "type": "line", **vec, "layout": layout, "paint": paint})
    else:
        if src.fill:
            out.append(
                {
                    "id": layer.id,
                    "type": "fill",
                    **vec,
                    "paint": {"fill-color": _color(src), "fill-opacity": src.opacity},
                }
            )
        outline = hex_color(src.outline or src.default.rgb)
        out.append(
            {
                "id": f"{layer.id}-outline" if src.fill else layer.id,
                "type": "line",
                **vec,
                "metadata": {**_meta(layer), "onemap:role": "outline"} if src.fill else _meta(layer),
                "paint": {"line-color": outline, "line-width": _width(src.width)},
            }
        )
    if src.label:
        out.append(_label(src, layer, source_id, line=geometry in ("LineString", "MultiLineString")))
    return out


def style_document(
    *,
    name: str,
    layers: Sequence[Layer],
    sources: dict[str, Json],
    source_of: dict[str, str],
    glyphs: str,
    center: tuple[float, float] = (112.94, 28.23),
    zoom: float = 11.0,
    metadata: Json | None = None,
) -> Json:
    """A complete style: ``sources`` by id, ``source_of`` maps each layer id to its source id."""
    ordered = sorted(layers, key=_rank)
    body: list[Json] = [{"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}]
    labels: list[Json] = []
    for layer in ordered:
        for style_layer in style_layers(layer, source_id=source_of[layer.id]):
            (labels if style_layer.get("type") == "symbol" else body).append(style_layer)
    return {
        "version": 8,
        "name": name,
        "metadata": {"onemap:collections": [layer.id for layer in ordered], **(metadata or {})},
        "center": list(center),
        "zoom": zoom,
        "glyphs": glyphs,
        "sources": sources,
        "layers": body + labels,
    }
