"""The JSON documents of OGC API Styles: a MapLibre style over a set of layers, and style entries.

What a style contains depends on the caller: layers they may not read are left out, exactly as
they are absent from ``/collections``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.context import AppContext
from layers.model import Layer
from layers.principals import Principal
from styles.catalog import source_for
from styles.maplibre import style_document

MAPBOX_STYLE = "application/vnd.mapbox.style+json"
MAP_STYLE_ID = "onemap"
TILE_SOURCE_MAXZOOM = 16
STYLESHEET_REL = "stylesheet"
LEGEND_REL = "http://www.opengis.net/def/rel/ogc/1.0/legend"
GROUP_SOURCE = {
    "一张图": "onemap-base",
    "管线": "onemap-pipelines",
    "建筑": "onemap-buildings",
    "网格": "onemap-grid",
    "overlay": "onemap-overlays",
}


def visible_layers(ctx: AppContext, principal: Principal) -> list[Layer]:
    """The registry's layers ``principal`` may read, in registry order."""
    return [layer for layer in ctx.registry.all() if principal.can_read(layer)]


def style_layers(ctx: AppContext, principal: Principal, style_id: str) -> list[Layer]:
    """The readable layers drawn by ``style_id`` (every readable layer for the whole map's style)."""
    layers = visible_layers(ctx, principal)
    if style_id == MAP_STYLE_ID:
        return layers
    return [layer for layer in layers if source_for(layer).id == style_id]


def _raster_source(base: str, layer: Layer, datetime: str | None) -> dict[str, Any]:
    return {
        "type": "raster",
        "tileSize": 256,
        "minzoom": layer.min_zoom,
        "maxzoom": layer.max_zoom,
        "tiles": [
            f"{base}/collections/{layer.id}/map/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
            + (f"?datetime={datetime}" if datetime else "")
        ],
        "attribution": layer.metadata.attribution or "",
    }


def _group_source(base: str, members: Sequence[Layer], datetime: str | None) -> dict[str, Any]:
    ids = ",".join(layer.id for layer in members)
    when = f"&datetime={datetime}" if datetime else ""
    attributions = sorted({layer.metadata.attribution for layer in members if layer.metadata.attribution})
    return {
        "type": "vector",
        "tiles": [f"{base}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?collections={ids}{when}"],
        "minzoom": min(layer.min_zoom for layer in members),
        "maxzoom": min(TILE_SOURCE_MAXZOOM, max(layer.max_zoom for layer in members)),
        "attribution": "; ".join(attributions),
    }


def build_style(base: str, layers: Sequence[Layer], *, name: str, datetime: str | None = None) -> dict[str, Any]:
    """A MapLibre style drawing ``layers``: one vector source per group (one request per tile for
    all of a group's layers), one raster source per raster layer."""
    sources: dict[str, Any] = {}
    source_of: dict[str, str] = {}
    groups: dict[str, list[Layer]] = {}
    for layer in layers:
        if layer.is_vector:
            groups.setdefault(layer.group, []).append(layer)
        else:
            sid = f"raster-{layer.id}"
            sources[sid] = _raster_source(base, layer, datetime)
            source_of[layer.id] = sid
    for group, members in groups.items():
        sid = GROUP_SOURCE.get(group, "onemap-" + group)
        sources[sid] = _group_source(base, members, datetime)
        for layer in members:
            source_of[layer.id] = sid
    return style_document(
        name=name,
        layers=layers,
        sources=sources,
        source_of=source_of,
        glyphs=f"{base}/fonts/{{fontstack}}/{{range}}.pbf",
    )


def style_entry(base: str, style_id: str, title: str, prefix: str = "") -> dict[str, Any]:
    """One entry of a styles list: the style's id, title, and links to it, its metadata and legend."""
    return {
        "id": style_id,
        "title": title,
        "links": [
            {
                "rel": STYLESHEET_REL,
                "type": MAPBOX_STYLE,
                "title": "MapLibre / Mapbox GL style",
                "href": f"{base}{prefix}/styles/{style_id}?f=mapbox",
            },
            {"rel": "describedby", "type": "application/json", "href": f"{base}{prefix}/styles/{style_id}/metadata"},
            {"rel": LEGEND_REL, "type": "application/json", "href": f"{base}{prefix}/styles/{style_id}/legend"},
        ],
    }


def style_metadata(base: str, style_id: str, title: str, layers: Sequence[Layer]) -> dict[str, Any]:
    """The OGC style metadata of the whole-map or a layer style over ``layers``."""
    return {
        **style_entry(base, style_id, title),
        "scope": "style",
        "version": "1.0",
        "layers": [
            {
                "id": layer.id,
                "description": layer.title_zh,
                "dataType": "vector" if layer.is_vector else "raster",
                "sampleData": {"href": f"{base}/collections/{layer.id}/items?limit=10"} if layer.is_vector else None,
            }
            for layer in layers
        ],
    }
