"""Paths of the features: pages, one feature, its versions, and the Part 4 writes."""

from __future__ import annotations

from typing import Any

from api.ogc.collections import CRS_LIST
from api.ogc.openapi.common import (
    GEOJSON,
    HTML,
    JSON,
    READ_SECURITY,
    SIGNED_IN,
    Params,
    errors,
    json_or_html,
    ok,
    param,
)
from api.settings import ApiSettings


def items_params(p: Params, settings: ApiSettings) -> list[dict[str, Any]]:
    """Query parameters of ``/items`` (Parts 1–3, ``offset`` and the versions profile)."""
    return [
        p.collection_id,
        p.f,
        p.lang,
        param(
            "limit",
            f"Page size (1–{settings.max_limit})",
            {"type": "integer", "minimum": 1, "maximum": settings.max_limit, "default": settings.default_limit},
        ),
        param(
            "offset",
            "Rows to skip before the page (as pygeoapi, tipg and GeoServer take it); the next/prev links "
            "of the page carry a cursor. Cannot be combined with cursor.",
            {"type": "integer", "minimum": 0, "default": 0},
        ),
        param(
            "bbox",
            "minx,miny,maxx,maxy in bbox-crs axis order (CRS84 lon,lat by default)",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        param("bbox-crs", "CRS of bbox", {"type": "string", "enum": CRS_LIST}),
        p.datetime,
        param("filter", "CQL2 filter (see queryables)", {"type": "string"}),
        param(
            "filter-lang",
            "Filter encoding",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
        ),
        param("filter-crs", "CRS of geometries in the filter", {"type": "string", "enum": CRS_LIST}),
        p.crs,
        param("sortby", "Comma list of sortables, + (default) or - prefix", {"type": "string"}),
        param("properties", "Comma list of properties to return", {"type": "string"}),
        param("cursor", "Opaque keyset cursor from a next/prev link", {"type": "string"}),
        param(
            "profile",
            "How versions appear when datetime is an interval",
            {"type": "string", "enum": ["versions-as-features", "versions-as-features-unique-ids"]},
        ),
    ]


def _bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    feature = {
        "required": True,
        "content": {
            GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureInput"}},
            JSON: {"schema": {"$ref": "#/components/schemas/FeatureInput"}},
        },
    }
    patch = {
        "required": True,
        "content": {
            "application/merge-patch+json": {"schema": {"type": "object"}},
            JSON: {"schema": {"type": "object"}},
        },
    }
    return feature, patch


def items_paths(p: Params, settings: ApiSettings) -> dict[str, Any]:
    """``/items`` (GET, POST), ``/items/{id}`` (GET, PUT, PATCH, DELETE) and ``/versions``."""
    if_match = param(
        "If-Match",
        "ETag of the version you read: a stale one is refused with 412. Optional unless the layer "
        "requires it, when a write without it is refused with 428.",
        {"type": "string"},
        where="header",
    )
    feature_body, patch_body = _bodies()
    feature_ok = ok("A feature", (GEOJSON, {"$ref": "#/components/schemas/Feature"}), (HTML, {"type": "string"}))
    target = [p.collection_id, p.feature_id, if_match]
    write_errors = (400, 401, 403, 404, 409, 410, 412, 413, 422, 428, 429)
    return {
        "/collections/{collectionId}/items": {
            "get": {
                "summary": "Features",
                "operationId": "getFeatures",
                "parameters": items_params(p, settings),
                "security": READ_SECURITY,
                "responses": {
                    "200": json_or_html(
                        "A page of features", {"$ref": "#/components/schemas/FeatureCollection"}, GEOJSON
                    ),
                    **errors(400, 401, 404, 406, 503),
                },
            },
            "post": {
                "summary": "Create a feature (editor)",
                "operationId": "createFeature",
                "parameters": [p.collection_id],
                "security": SIGNED_IN,
                "requestBody": feature_body,
                "responses": {"201": feature_ok, **errors(400, 401, 403, 404, 409, 413, 422)},
            },
        },
        "/collections/{collectionId}/items/{featureId}": {
            "get": {
                "summary": "A feature, current or as of datetime",
                "operationId": "getFeature",
                "parameters": [p.collection_id, p.feature_id, p.f, p.lang, p.crs, p.datetime],
                "security": READ_SECURITY,
                "responses": {"200": feature_ok, **errors(400, 401, 404, 406, 410)},
            },
            "put": {
                "summary": "Replace (new version)",
                "operationId": "replaceFeature",
                "parameters": target,
                "security": SIGNED_IN,
                "requestBody": feature_body,
                "responses": {"200": feature_ok, **errors(*write_errors)},
            },
            "patch": {
                "summary": "Update (JSON merge patch, new version)",
                "operationId": "updateFeature",
                "parameters": target,
                "security": SIGNED_IN,
                "requestBody": patch_body,
                "responses": {"200": feature_ok, **errors(*write_errors)},
            },
            "delete": {
                "summary": "Retire (versions stay)",
                "operationId": "deleteFeature",
                "parameters": target,
                "security": SIGNED_IN,
                "responses": {"204": {"description": "Retired"}, **errors(400, 401, 403, 404, 409, 410, 412, 428)},
            },
        },
        "/collections/{collectionId}/items/{featureId}/versions": {
            "get": {
                "summary": "TimeMap of a feature's versions",
                "operationId": "getFeatureVersions",
                "parameters": [p.collection_id, p.feature_id, p.f, p.lang],
                "security": READ_SECURITY,
                "responses": {
                    "200": json_or_html("TimeMap", {"type": "object", "required": ["links", "versions"]}),
                    **errors(400, 401, 404, 406),
                },
            }
        },
    }
