"""JSON documents of OGC API Tiles: tile matrix sets, tileset lists, tileset metadata, TileJSON.

The OGC URL order of a tile is ``{tileMatrix}/{tileRow}/{tileCol}`` — z/**y**/x. TileJSON names
its placeholders, so our templates read ``{z}/{y}/{x}`` and MapLibre, OpenLayers and QGIS fill
them correctly.
"""

from __future__ import annotations

from typing import Any

from layers.model import Layer
from spatial.tms import TMS_IDS, get_tms, tile_range, tms_info
from styles.catalog import label_field, properties_for, source_for
from tiles.mvt import LABELS_SUFFIX

MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
TILING_SCHEME_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILESETS_VECTOR_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
TILESETS_MAP_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/{id}"
ORDER_NOTE = "Tile URLs are {tileMatrix}/{tileRow}/{tileCol}, that is z/y/x (row before column)."

Box = tuple[float, float, float, float]


def tms_list(base: str) -> dict[str, Any]:
    """The ``/tileMatrixSets`` document: every tile matrix set we tile in, with links."""
    sets = []
    for tms_id in TMS_IDS:
        info = tms_info(tms_id)
        sets.append(
            {
                "id": tms_id,
                "title": info.title_en,
                "description": info.title_zh,
                "crs": str(get_tms(tms_id).crs.root),
                **({"uri": TMS_URI.format(id=tms_id)} if tms_id != "CGCS2000Quad" else {}),
                "links": [
                    {
                        "rel": "self",
                        "type": "application/json",
                        "title": info.title_en,
                        "href": f"{base}/tileMatrixSets/{tms_id}",
                    }
                ],
            }
        )
    return {"tileMatrixSets": sets, "links": [{"rel": "self", "href": f"{base}/tileMatrixSets"}]}


def tms_document(base: str, tms_id: str) -> dict[str, Any]:
    """One tile matrix set as OGC TMS 2.0 JSON, with its self link."""
    doc: dict[str, Any] = get_tms(tms_id).model_dump(mode="json", exclude_none=True, by_alias=True)
    if tms_id != "CGCS2000Quad":
        doc.setdefault("uri", TMS_URI.format(id=tms_id))
    doc["links"] = [{"rel": "self", "type": "application/json", "href": f"{base}/tileMatrixSets/{tms_id}"}]
    return doc


def limits(tms_id: str, extent: Box | None, zooms: range) -> list[dict[str, Any]]:
    """OGC ``tileMatrixSetLimits``: the tile rows and columns ``extent`` (EPSG:4490 lon/lat) covers at each zoom."""
    if extent is None:
        return []
    out = []
    for z in zooms:
        r = tile_range(tms_id, extent, z)
        if r is not None:
            out.append(
                {
                    "tileMatrix": str(z),
                    "minTileRow": r.y0,
                    "maxTileRow": r.y1,
                    "minTileCol": r.x0,
                    "maxTileCol": r.x1,
                }
            )
    return out


def _fields(layer: Layer) -> dict[str, str]:
    return {f.name: f.title_en for f in layer.attributes.fields}


def vector_layer_entry(layer: Layer, *, lang: str = "zh") -> dict[str, Any]:
    """One entry of TileJSON's ``vector_layers`` (and OGC ``layers``)."""
    return {
        "id": layer.id,
        "description": layer.title_zh if lang == "zh" else layer.title_en,
        "minzoom": layer.min_zoom,
        "maxzoom": layer.max_zoom,
        "fields": _fields(layer),
        "x-low-zoom-fields": list(properties_for(layer)),
        "x-geometry-type": layer.geometry_type,
    }


def _union(extents: list[Box | None]) -> Box | None:
    boxes = [e for e in extents if e is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def tile_template(tiles_base: str, tms_id: str, query: str = "") -> str:
    """A TileJSON/OGC template: ``{z}/{y}/{x}`` — row (y) before column (x), as OGC orders them."""
    return f"{tiles_base}/{tms_id}/{{z}}/{{y}}/{{x}}" + (f"?{query}" if query else "")


def tileset_metadata(
    *,
    base: str,
    tiles_base: str,
    tms_id: str,
    layers: list[Layer],
    extents: list[Box | None],
    title: str,
    data_type: str = "vector",
    query: str = "",
) -> dict[str, Any]:
    """OGC API Tiles tileset metadata for ``layers`` in ``tms_id``."""
    extent = _union(extents)
    zmin = min((layer.min_zoom for layer in layers), default=0)
    zmax = min(max((layer.max_zoom for layer in layers), default=0), get_tms(tms_id).maxzoom)
    media = MVT if data_type == "vector" else PNG
    q = f"?{query}" if query else ""
    ogc_template = f"{tiles_base}/{tms_id}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"
    doc: dict[str, Any] = {
        "title": title,
        "description": ORDER_NOTE,
        "dataType": data_type,
        "crs": str(get_tms(tms_id).crs.root),
        "tileMatrixSetURI": TMS_URI.format(id=tms_id)
        if tms_id != "CGCS2000Quad"
        else f"{base}/tileMatrixSets/{tms_id}",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{tiles_base}/{tms_id}{q}"},
            {
                "rel": "alternate",
                "type": "application/vnd.mapbox.tile+json",
                "title": "TileJSON",
                "href": f"{tiles_base}/{tms_id}?f=tilejson" + (f"&{query}" if query else ""),
            },
            {"rel": TILING_SCHEME_REL, "type": "application/json", "href": f"{base}/tileMatrixSets/{tms_id}"},
            {"rel": "item", "type": media, "templated": True, "href": ogc_template},
        ],
        "tileMatrixSetLimits": limits(tms_id, extent, range(zmin, zmax + 1)),
    }
    if data_type == "vector":
        doc["layers"] = [
            {
                "id": layer.id,
                "title": layer.title_en,
                "description": layer.title_zh,
                "dataType": "vector",
                "geometryDimension": _dimension(layer.geometry_type),
                "minTileMatrix": str(layer.min_zoom),
                "maxTileMatrix": str(layer.max_zoom),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {f.name: f.json_schema() for f in layer.attributes.fields},
                },
            }
            for layer in layers
        ]
    if extent is not None:
        doc["boundingBox"] = {
            "lowerLeft": [extent[0], extent[1]],
            "upperRight": [extent[2], extent[3]],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    return doc


def _dimension(geometry_type: str | None) -> int:
    if geometry_type in ("Point", "MultiPoint"):
        return 0
    if geometry_type in ("LineString", "MultiLineString"):
        return 1
    return 2


def tilejson(
    *,
    tiles_base: str,
    tms_id: str,
    layers: list[Layer],
    extents: list[Box | None],
    name: str,
    query: str = "",
    data_type: str = "vector",
    attribution: str | None = None,
) -> dict[str, Any]:
    """TileJSON 3.0.0. Only WebMercatorQuad is what TileJSON clients assume; others say their CRS."""
    extent = _union(extents)
    zmin = min((layer.min_zoom for layer in layers), default=0)
    zmax = min(max((layer.max_zoom for layer in layers), default=0), get_tms(tms_id).maxzoom)
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": name,
        "description": ORDER_NOTE,
        "scheme": "xyz",
        "tiles": [tile_template(tiles_base, tms_id, query)],
        "minzoom": zmin,
        "maxzoom": zmax,
        "bounds": list(extent) if extent else [-180.0, -85.0511, 180.0, 85.0511],
    }
    if extent:
        doc["center"] = [(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, max(zmin, min(12, zmax))]
    if tms_id != "WebMercatorQuad":
        doc["crs"] = str(get_tms(tms_id).crs.root)
        doc["x-tile-matrix-set"] = tms_id
    if data_type == "vector":
        doc["vector_layers"] = [vector_layer_entry(layer) for layer in layers]
        for layer in layers:
            field = label_field(layer, layer.max_zoom)
            if field is not None:
                src = source_for(layer)
                doc["vector_layers"].append(
                    {
                        "id": layer.id + LABELS_SUFFIX,
                        "description": f"{layer.title_zh}: one label point per feature",
                        "minzoom": max(src.label_minzoom, layer.min_zoom),
                        "maxzoom": layer.max_zoom,
                        "fields": {field: next(f.title_en for f in layer.attributes.fields if f.name == field)},
                    }
                )
    if attribution:
        doc["attribution"] = attribution
    return doc
