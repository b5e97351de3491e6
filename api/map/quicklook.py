"""``/collections/{id}/map``: a folium quick look at one collection for GIS staff.

Styled from the layer's style source (:mod:`styles.folium_style`), with its legend, and every
asset served from our own ``/vendor`` copies (:mod:`styles.folium_offline`): no basemap, no CDN.
Raster layers are drawn from our own PNG map tiles.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Annotated, Any
from urllib.parse import quote

import folium
from branca.element import Element, Figure
from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from api.audit import note_read
from api.auth import ReadableCollection
from api.tiles.dependencies import CtxDep, TilesDep
from api.tiles.params import parse_datetime
from layers.model import Layer
from layers.reads import list_features
from styles.folium_offline import render_offline
from styles.folium_style import legend_html, marker_style, style_function

MAX_FEATURES = 20_000
router = APIRouter(tags=["web map"])


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _fields(layer: Layer, *, limit: int = 12) -> tuple[list[str], list[str]]:
    names = [f.name for f in layer.attributes.fields][:limit]
    titles = [f"{f.title_zh}" for f in layer.attributes.fields][:limit]
    return names, titles


def _fit(m: folium.Map, box: tuple[float, float, float, float] | None) -> None:
    if box is not None:
        west, south, east, north = box
        m.fit_bounds([[south, west], [north, east]])


@router.get(
    "/collections/{collectionId}/map",
    response_class=HTMLResponse,
    summary="A folium quick-look page of one collection (offline assets)",
)
async def quicklook(
    request: Request,
    layer: ReadableCollection,
    ctx: CtxDep,
    tiles: TilesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES, description="Features to draw at most")] = 5000,
    datetime: Annotated[str | None, Query(description="Valid time (instant or interval)")] = None,
) -> HTMLResponse:
    """A folium page drawing one collection (at most ``limit`` features) with its legend, offline."""
    selection = parse_datetime(datetime)
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=12, location=[28.228, 112.939])
    title = f"{layer.title_zh} / {layer.title_en}"
    drawn = 0
    if layer.is_vector:
        async with ctx.pool.acquire() as conn:
            rows = await list_features(conn, layer=layer, selection=selection, limit=limit)
        names, titles = _fields(layer)
        features = [
            {
                "type": "Feature",
                "id": r.fid,
                "geometry": r.geometry,
                "properties": {"fid": r.fid, "version": r.version, **{k: _plain(v) for k, v in r.properties.items()}},
            }
            for r in rows
        ]
        drawn = len(features)
        collection = {"type": "FeatureCollection", "features": features}
        point = layer.geometry_type in ("Point", "MultiPoint")
        kwargs: dict[str, Any] = {}
        if point:
            sample = features[0] if features else {"properties": {}}
            kwargs["marker"] = folium.CircleMarker(**marker_style(layer, sample))
        if features:
            folium.GeoJson(
                collection,
                name=title,
                style_function=style_function(layer),
                tooltip=folium.GeoJsonTooltip(fields=["fid", *names], aliases=["fid", *titles], localize=True),
                **kwargs,
            ).add_to(m)
    else:
        suffix = f"?datetime={quote(datetime)}" if datetime else ""
        folium.TileLayer(
            tiles=f"/collections/{layer.id}/map/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}{suffix}",
            attr=layer.metadata.attribution or layer.title_zh,
            name=title,
            overlay=True,
            min_zoom=layer.min_zoom,
            max_zoom=layer.max_zoom,
            opacity=0.8,
        ).add_to(m)
    extent = await tiles.extent(layer, data_dir=ctx.settings.api.data_dir)
    _fit(m, extent)
    note_read(request, ctx, layer, kind="read.map", area="extent" if layer.is_vector else "raster",
              features=drawn if layer.is_vector else None)
    note = (
        f"{drawn} features drawn" + (f" (first {limit}; narrow with ?limit=)" if drawn >= limit else "")
        if layer.is_vector
        else "raster map tiles"
    )
    header = (
        '<div style="position:fixed;top:10px;left:50px;z-index:1000">'
        + legend_html(layer)
        + f'<div style="background:#fff;font:11px sans-serif;padding:2px 8px;border:1px solid #999;'
        f'border-top:0">{note} · <a href="/map">一张图 web map</a></div></div>'
    )
    page = m.get_root()
    assert isinstance(page, Figure)
    page.html.add_child(Element(header))
    page.header.add_child(Element(f'<title>{escape(layer.title_zh)} — One Map</title><link rel="icon" href="data:,">'))
    html = render_offline(m, mode="served", vendor_url="/vendor")
    return HTMLResponse(html, headers={"Cache-Control": "private, no-cache"})
