"""Collections: the list, one collection (extents, CRSs, links), queryables, sortables,
overlay registration by admins, and the audit trail of a collection."""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from api.auth import AdminDep, PrincipalDep, ReadableCollection
from api.context import AppContext, get_context
from api.errors import ApiError, InvalidParameter, NotAuthenticated
from api.negotiation import negotiate
from api.ogc import html
from api.ogc.bodies import read_json_body
from api.ogc.links import GEOJSON, HTML, JSON, SCHEMA_JSON, base_url, link, self_and_alternate
from api.ogc.params import check_known
from layers.errors import FieldError, ValidationFailed
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
_EXTENT_TTL_S = 60.0
_extents: dict[str, tuple[float, list[float] | None]] = {}


class InvalidRegistration(ApiError):
    status = 422
    type_slug = "invalid-layer-definition"
    title = "The layer definition is not valid"


async def spatial_extent(ctx: AppContext, layer: Layer) -> list[float] | None:
    """Extent of current rows (lon/lat): exact on small layers, from statistics on big ones."""
    hit = _extents.get(layer.id)
    if hit and time.monotonic() - hit[0] < _EXTENT_TTL_S:
        return hit[1]
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetchval(
            "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", f'data."{layer.id}"'
        )
        if (rows is not None and 0 <= rows < 200_000) or rows == -1:
            box = await conn.fetchrow(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "  # noqa: S608
                f"(SELECT ST_Extent(geom) AS e FROM {layer.table} WHERE valid_to IS NULL) x"
            )
        else:
            box = await conn.fetchrow(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_EstimatedExtent('data', $1, 'geom') AS e) x",
                layer.id,
            )
    extent = [round(float(v), 6) for v in box.values()] if box and box[0] is not None else None
    _extents[layer.id] = (time.monotonic(), extent)
    return extent


async def collection_doc(request: Request, ctx: AppContext, layer: Layer, fmt: str) -> dict[str, Any]:
    base = f"{base_url(request)}/collections/{layer.id}"
    extent: dict[str, Any] = {}
    box = await spatial_extent(ctx, layer)
    if box is not None:
        extent["spatial"] = {"bbox": [box], "crs": CRS84_URI}
    extent["temporal"] = {
        "interval": [
            [
                rfc3339(layer.temporal_start) if layer.temporal_start else None,
                rfc3339(layer.temporal_end) if layer.temporal_end else None,
            ]
        ],
        "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
    }
    zh = request.query_params.get("lang") != "en"
    return {
        "id": layer.id,
        "title": layer.title_zh if zh else layer.title_en,
        "description": (layer.description_zh if zh else layer.description_en) or "",
        "itemType": "feature",
        "crs": CRS_LIST,
        "storageCrs": EPSG_URI.format(code=STORAGE_SRID),
        "extent": extent,
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
        ],
    }


@router.get("/collections", summary="Collections you may see")
async def list_collections(request: Request, ctx: Ctx, principal: PrincipalDep) -> Response:
    check_known(request, PLAIN)
    fmt = negotiate(request)
    layers = [layer for layer in ctx.registry.vector_layers() if principal.can_read(layer)]
    docs = [await collection_doc(request, ctx, layer, fmt) for layer in layers]
    doc = {"links": self_and_alternate(request, fmt), "collections": docs, "crs": CRS_LIST}
    if fmt == "html":
        return html.render(request, "collections.html.j2", doc=doc)
    return Response(orjson.dumps(doc), media_type=JSON)


def _vector(layer: Layer) -> Layer:
    from api.ogc.items import vector

    return vector(layer)


@router.get("/collections/{collectionId}", summary="One collection: extents, CRSs and links")
async def get_collection(request: Request, layer: ReadableCollection, ctx: Ctx) -> Response:
    _vector(layer)
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = await collection_doc(request, ctx, layer, fmt)
    if fmt == "html":
        return html.render(request, "collection.html.j2", doc=doc, layer=layer)
    return Response(orjson.dumps(doc), media_type=JSON)


def _schema_doc(request: Request, layer: Layer, kind: str) -> dict[str, Any]:
    table = queryables(layer) if kind == "queryables" else sortables(layer)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{layer.id}/{kind}",
        "type": "object",
        "title": f"{layer.title_zh} — {kind}",
        "properties": {name: q.json_schema(geometry_type=layer.geometry_type) for name, q in table.items()},
        "additionalProperties": False,
    }


@router.get("/collections/{collectionId}/queryables", summary="Properties usable in filter (JSON Schema)")
async def get_queryables(request: Request, layer: ReadableCollection) -> Response:
    _vector(layer)
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = _schema_doc(request, layer, "queryables")
    if fmt == "html":
        return html.render(request, "schema.html.j2", doc=doc, layer=layer, kind="queryables")
    return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)


@router.get("/collections/{collectionId}/sortables", summary="Properties usable in sortby (JSON Schema)")
async def get_sortables(request: Request, layer: ReadableCollection) -> Response:
    _vector(layer)
    check_known(request, PLAIN)
    fmt = negotiate(request)
    doc = _schema_doc(request, layer, "sortables")
    if fmt == "html":
        return html.render(request, "schema.html.j2", doc=doc, layer=layer, kind="sortables")
    return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)


@router.post("/collections", status_code=201, summary="Register an overlay layer (admin)")
async def register_overlay(request: Request, ctx: Ctx, admin: AdminDep) -> Response:
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
    doc = await collection_doc(request, ctx, layer, "json")
    return Response(
        orjson.dumps(doc),
        status_code=201,
        media_type=JSON,
        headers={"Location": f"{base_url(request)}/collections/{layer.id}"},
    )


@router.get("/collections/{collectionId}/changes", summary="Audit trail: who changed which feature, when")
async def get_changes(
    request: Request, layer: ReadableCollection, ctx: Ctx, principal: PrincipalDep
) -> Response:
    check_known(request, frozenset({"f", "fid", "limit", "before"}))
    if principal.is_anonymous:
        raise NotAuthenticated(
            "the audit trail needs a signed-in account or API key", headers={"WWW-Authenticate": "Bearer"}
        )
    q = request.query_params
    try:
        fid = int(q["fid"]) if "fid" in q else None
        limit = min(max(int(q.get("limit", "100")), 1), 1000)
        before = int(q["before"]) if "before" in q else None
    except ValueError:
        raise InvalidParameter("fid, limit and before are whole numbers") from None
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT c.id, c.fid, c.op, c.version_before, c.version_after, c.recorded_at,
                   s.id AS changeset, s.actor, s.source, s.note
            FROM onemap.changes c JOIN onemap.changesets s ON s.id = c.changeset_id
            WHERE c.layer_id = $1 AND ($2::bigint IS NULL OR c.fid = $2) AND ($3::bigint IS NULL OR c.id < $3)
            ORDER BY c.id DESC LIMIT $4
            """,
            layer.id,
            fid,
            before,
            limit,
        )
    changes = [
        {
            "id": r["id"],
            "featureId": r["fid"],
            "operation": r["op"],
            "versionBefore": r["version_before"],
            "versionAfter": r["version_after"],
            "recordedAt": rfc3339(r["recorded_at"]),
            "changeset": r["changeset"],
            "actor": r["actor"],
            "source": r["source"],
            "note": r["note"],
        }
        for r in rows
    ]
    links = [link(str(request.url), "self", JSON)]
    if len(rows) == limit:
        nxt = request.url.include_query_params(before=rows[-1]["id"])
        links.append(link(str(nxt), "next", JSON))
    return Response(
        orjson.dumps({"collection": layer.id, "changes": changes, "links": links}), media_type=JSON
    )
