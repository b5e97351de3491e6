"""Collections: the list, one collection (extents, CRSs, links), queryables, sortables,
overlay registration by admins, and the audit trail of a collection."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from api.audit import note_event
from api.auth import AdminDep, PrincipalDep, ReadableCollection
from api.context import AppContext, get_context
from api.errors import ApiError
from api.negotiation import negotiate
from api.ogc import html
from api.ogc.bodies import read_json_body
from api.ogc.geovolumes import threed_links
from api.ogc.links import GEOJSON, HTML, JSON, SCHEMA_JSON, base_url, link, self_and_alternate
from api.ogc.params import check_known
from layers.errors import FieldError, ValidationFailed
from layers.extent import Extent, published_extent
from layers.json_schema import feature_schema, property_list_schema
from layers.model import GROUPS_EN, Layer, LayerDef
from layers.query.instants import rfc3339
from layers.query.properties import queryables, sortables
from layers.registry import register_layer
from spatial.crs import CRS84_URI, EPSG_URI, STORAGE_SRID

router = APIRouter(tags=["collections"])
Ctx = Annotated[AppContext, Depends(get_context)]
PLAIN = frozenset({"f", "lang"})
# Part 2: the CRSs every collection offers for crs / bbox-crs / filter-crs (CRS84 is the default).
OFFERED_SRIDS = (4490, 4326, 3857, 4526, 4547, 4525, 4546, 4527, 4548)
CRS_LIST = [CRS84_URI] + [EPSG_URI.format(code=s) for s in OFFERED_SRIDS]
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"


class InvalidRegistration(ApiError):
    """422: the overlay layer definition does not validate."""

    status = 422
    type_slug = "invalid-layer-definition"
    title = "The layer definition is not valid"


def extent_doc(extent: Extent, layer: Layer) -> dict[str, Any]:
    """The collection's ``extent`` member: spatial (CRS84) and temporal (valid time)."""
    return {
        "spatial": {"bbox": [list(extent.bbox_4490)], "crs": CRS84_URI},
        "temporal": {
            "interval": [
                [
                    rfc3339(layer.temporal_start) if layer.temporal_start else None,
                    rfc3339(layer.temporal_end) if layer.temporal_end else None,
                ]
            ],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }


async def collection_doc(request: Request, ctx: AppContext, layer: Layer, fmt: str) -> dict[str, Any]:
    """The collection document (JSON shape; the HTML page renders the same dict).

    Its spatial extent is that of the current rows, or the layer's nominal extent while it has
    none, so clients always learn where and in which CRS the layer lives (QGIS needs it).
    """
    base = f"{base_url(request)}/collections/{layer.id}"
    extent = await published_extent(ctx.pool, layer)
    zh = request.query_params.get("lang") != "en"
    return {
        "id": layer.id,
        "title": layer.title_zh if zh else layer.title_en,
        "description": (layer.description_zh if zh else layer.description_en) or "",
        "itemType": "feature",
        "crs": CRS_LIST,
        "storageCrs": EPSG_URI.format(code=STORAGE_SRID),
        "extent": extent_doc(extent, layer),
        "versioning": {"timeAxis": "validity-time", "mutationTime": "server"},
        "keywords": layer.metadata.keywords,
        "x-onemap": {
            "title_zh": layer.title_zh,
            "title_en": layer.title_en,
            "group": layer.group,
            "group_en": GROUPS_EN.get(layer.group, layer.group),
            "access": layer.access,
            "geometryType": layer.geometry_type,
            "sample": layer.metadata.sample,
            "source": layer.metadata.source,
            "licence": layer.metadata.licence,
            "attribution": layer.metadata.attribution,
            "minZoom": layer.min_zoom,
            "maxZoom": layer.max_zoom,
            "extentKind": extent.kind,
        },
        "links": [
            link(f"{base}?f=json", "self" if fmt == "json" else "alternate", JSON, layer.title_en),
            link(f"{base}?f=html", "alternate" if fmt == "json" else "self", HTML, layer.title_zh),
            link(f"{base}/items?f=json", "items", GEOJSON, "features (GeoJSON)"),
            link(f"{base}/items?f=html", "items", HTML, "features (HTML)"),
            link(
                f"{base}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA_JSON,
                "queryables",
            ),
            link(
                f"{base}/sortables",
                "http://www.opengis.net/def/rel/ogc/1.0/sortables",
                SCHEMA_JSON,
                "sortables",
            ),
            link(f"{base}/schema", REL_SCHEMA, SCHEMA_JSON, "schema of the features (Part 5)"),
            *threed_links(base, layer),  # OGC API - 3D GeoVolumes (draft): api/ogc/geovolumes.py
        ],
    }


@router.get("/collections", summary="Collections you may see")
async def list_collections(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    """Every vector collection the caller may read, each as its collection document."""
    check_known(request, PLAIN)
    fmt = negotiate(request)
    layers = [layer for layer in ctx.registry.vector_layers() if principal.can_read(layer)]
    docs = [await collection_doc(request, ctx, layer, fmt) for layer in layers]
    doc = {"links": self_and_alternate(request, fmt), "collections": docs, "crs": CRS_LIST}
    if fmt == "html":
        return html.render(request, "collections.html.j2", doc=doc)
    return Response(orjson.dumps(doc), media_type=JSON)


def _vector(layer: Layer) -> Layer:
    """:func:`api.ogc.items.vector`, imported late (items imports this module's neighbours)."""
    from api.ogc.items import vector

    return vector(layer)


@router.get("/collections/{collectionId}", summary="One collection: extents, CRSs and links")
async def get_collection(request: Request, layer: ReadableCollection, ctx: Ctx) -> Response:
    """One collection: extents, CRSs and links (items, queryables, sortables, schema)."""
    _vector(layer)
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = await collection_doc(request, ctx, layer, fmt)
    if fmt == "html":
        return html.render(request, "collection.html.j2", doc=doc, layer=layer)
    return Response(orjson.dumps(doc), media_type=JSON)


def _schema_doc(request: Request, layer: Layer, kind: str) -> dict[str, Any]:
    schema_id = f"{base_url(request)}/collections/{layer.id}/{kind}"
    if kind == "schema":
        return feature_schema(layer, schema_id=schema_id)
    table = queryables(layer) if kind == "queryables" else sortables(layer)
    props = {name: q.json_schema(layer=layer) for name, q in table.items()}
    return property_list_schema(layer, props, schema_id=schema_id, kind=kind)


def _schema_response(request: Request, layer: Layer, kind: str) -> Response:
    _vector(layer)
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = _schema_doc(request, layer, kind)
    if fmt == "html":
        return html.render(request, "schema.html.j2", doc=doc, layer=layer, kind=kind)
    return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)


@router.get("/collections/{collectionId}/schema", summary="Schema of the features (JSON Schema, Part 5)")
async def get_schema(request: Request, layer: ReadableCollection) -> Response:
    """The Part 5 logical schema of the collection's features: roles, units, code lists, order."""
    return _schema_response(request, layer, "schema")


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filter (JSON Schema)")
async def get_queryables(request: Request, layer: ReadableCollection) -> Response:
    """Properties usable in ``filter`` (Part 3), as JSON Schema."""
    return _schema_response(request, layer, "queryables")


@router.get("/collections/{collectionId}/sortables", summary="Properties usable in sortby (JSON Schema)")
async def get_sortables(request: Request, layer: ReadableCollection) -> Response:
    """Properties usable in ``sortby`` (Part 5), as JSON Schema."""
    return _schema_response(request, layer, "sortables")


@router.post("/collections", status_code=201, summary="Register an overlay layer (admin)")
async def register_overlay(request: Request, ctx: Ctx, admin: AdminDep) -> Response:
    """Register another system's overlay layer (admin); it is empty until features are posted."""
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidRegistration("the body must be a JSON object describing the layer")
    body.setdefault("group", "overlay")
    body.setdefault("metadata", {}).setdefault("owner", admin.name)
    try:
        definition = LayerDef.model_validate(body)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "layer", e["type"], e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed(errors=errors) from None
    async with ctx.pool.acquire() as conn:
        layer = await register_layer(conn, definition)
    await ctx.reload_registry()
    note_event(ctx, request, kind="layer.registered", who=admin.name, layer=layer.id, status=201,
               detail={"access": layer.access, "geometry_type": layer.geometry_type})
    doc = await collection_doc(request, ctx, layer, "json")
    return Response(
        orjson.dumps(doc),
        status_code=201,
        media_type=JSON,
        headers={"Location": f"{base_url(request)}/collections/{layer.id}"},
    )
