"""The OpenAPI 3.0 definition of the Features API, built from the registry.

Hand-written rather than FastAPI's generated 3.1 document: OGC clients and the
OGC building blocks expect 3.0, with the OGC parameter names (``bbox-crs``,
``filter-lang`` …) and problem+json errors described exactly.
"""

from __future__ import annotations

from typing import Any

from api.context import AppContext
from api.ogc.collections import CRS_LIST

PROBLEM = {"$ref": "#/components/responses/Problem"}
_JSON = "application/json"
_GEOJSON = "application/geo+json"
_HTML = "text/html"


def _param(
    name: str,
    description: str,
    schema: dict[str, Any],
    *,
    where: str = "query",
    required: bool = False,
    style: str | None = None,
    explode: bool | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "in": where,
        "description": description,
        "required": required,
        "schema": schema,
    }
    if style:
        out["style"] = style
    if explode is not None:
        out["explode"] = explode
    return out


def _ok(description: str, *media: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"description": description, "content": {m: {"schema": s} for m, s in media}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): PROBLEM for c in codes}


def openapi_document(ctx: AppContext, base: str) -> dict[str, Any]:
    settings = ctx.settings.api
    ids = sorted(layer.id for layer in ctx.registry.vector_layers())
    collection_id = _param(
        "collectionId",
        "Collection (layer) id; restricted layers you may not read answer 404",
        {"type": "string", "enum": ids} if ids else {"type": "string"},
        where="path",
        required=True,
    )
    feature_id = _param(
        "featureId",
        "Feature id (stable across versions)",
        {"type": "string", "pattern": "^[0-9]{1,18}$"},
        where="path",
        required=True,
    )
    f = _param("f", "Output format (overrides Accept)", {"type": "string", "enum": ["json", "html"]})
    lang = _param("lang", "Language of HTML pages", {"type": "string", "enum": ["zh", "en"]})
    crs = _param("crs", "Output CRS (Part 2); default CRS84", {"type": "string", "enum": CRS_LIST})
    datetime_p = _param(
        "datetime",
        "Valid-time instant (as-of) or interval (a/b, ../b, a/..)",
        {"type": "string", "pattern": r"^\S+$"},
    )
    items_params = [
        collection_id,
        f,
        lang,
        _param(
            "limit",
            f"Page size (1–{settings.max_limit})",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_limit,
                "default": settings.default_limit,
            },
        ),
        _param(
            "bbox",
            "minx,miny,maxx,maxy in bbox-crs axis order (CRS84 lon,lat by default)",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            style="form",
            explode=False,
        ),
        _param("bbox-crs", "CRS of bbox", {"type": "string", "enum": CRS_LIST}),
        datetime_p,
        _param("filter", "CQL2 filter (see queryables)", {"type": "string"}),
        _param(
            "filter-lang",
            "Filter encoding",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
        ),
        _param("filter-crs", "CRS of geometries in the filter", {"type": "string", "enum": CRS_LIST}),
        crs,
        _param("sortby", "Comma list of sortables, + (default) or - prefix", {"type": "string"}),
        _param("properties", "Comma list of properties to return", {"type": "string"}),
        _param("cursor", "Opaque keyset cursor from a next/prev link", {"type": "string"}),
        _param(
            "profile",
            "How versions appear when datetime is an interval",
            {"type": "string", "enum": ["versions-as-features", "versions-as-features-unique-ids"]},
        ),
    ]
    if_match = _param(
        "If-Match",
        "ETag of the version you read (required)",
        {"type": "string"},
        where="header",
        required=True,
    )
    feature_body = {
        "required": True,
        "content": {
            _GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureInput"}},
            _JSON: {"schema": {"$ref": "#/components/schemas/FeatureInput"}},
        },
    }
    patch_body = {
        "required": True,
        "content": {
            "application/merge-patch+json": {"schema": {"type": "object"}},
            _JSON: {"schema": {"type": "object"}},
        },
    }
    security: list[dict[str, list[str]]] = [{}, {"bearer": []}]
    feature_ok = _ok(
        "A feature", (_GEOJSON, {"$ref": "#/components/schemas/Feature"}), (_HTML, {"type": "string"})
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "One Map 一张图 — OGC API Features",
            "version": "0.1.0",
            "description": "Changsha's versioned city layers: OGC API Features Parts 1–4, CQL2 filtering, "
            "valid-time versions (OGC Versioned Features proposal).",
        },
        "servers": [{"url": base}],
        "paths": {
            "/": {
                "get": {
                    "summary": "Landing page",
                    "operationId": "getLandingPage",
                    "parameters": [f, lang],
                    "responses": {
                        "200": _ok(
                            "Landing page",
                            (_JSON, {"$ref": "#/components/schemas/Landing"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 406),
                    },
                }
            },
            "/conformance": {
                "get": {
                    "summary": "Conformance classes",
                    "operationId": "getConformance",
                    "parameters": [f, lang],
                    "responses": {
                        "200": _ok(
                            "Conformance",
                            (_JSON, {"$ref": "#/components/schemas/Conformance"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 406),
                    },
                }
            },
            "/openapi": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenAPI",
                    "parameters": [f, lang],
                    "responses": {
                        "200": _ok(
                            "OpenAPI",
                            ("application/vnd.oai.openapi+json;version=3.0", {"type": "object"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 406),
                    },
                }
            },
            "/collections": {
                "get": {
                    "summary": "Collections you may see",
                    "operationId": "getCollections",
                    "parameters": [f, lang],
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "Collections",
                            (_JSON, {"$ref": "#/components/schemas/Collections"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 406),
                    },
                },
                "post": {
                    "summary": "Register an overlay layer (admin)",
                    "operationId": "registerCollection",
                    "security": [{"bearer": []}],
                    "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}},
                    "responses": {
                        "201": _ok("Registered", (_JSON, {"$ref": "#/components/schemas/Collection"})),
                        **_errors(400, 401, 403, 409, 413, 422),
                    },
                },
            },
            "/collections/{collectionId}": {
                "get": {
                    "summary": "A collection",
                    "operationId": "getCollection",
                    "parameters": [collection_id, f, lang],
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "Collection",
                            (_JSON, {"$ref": "#/components/schemas/Collection"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 404, 406),
                    },
                }
            },
            "/collections/{collectionId}/queryables": {
                "get": {
                    "summary": "Queryables (JSON Schema)",
                    "operationId": "getQueryables",
                    "parameters": [collection_id, f, lang],
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "Queryables",
                            ("application/schema+json", {"type": "object"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 404, 406),
                    },
                }
            },
            "/collections/{collectionId}/sortables": {
                "get": {
                    "summary": "Sortables (JSON Schema)",
                    "operationId": "getSortables",
                    "parameters": [collection_id, f, lang],
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "Sortables",
                            ("application/schema+json", {"type": "object"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 404, 406),
                    },
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "summary": "Features",
                    "operationId": "getFeatures",
                    "parameters": items_params,
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "A page of features",
                            (_GEOJSON, {"$ref": "#/components/schemas/FeatureCollection"}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 404, 406, 503),
                    },
                },
                "post": {
                    "summary": "Create a feature (editor)",
                    "operationId": "createFeature",
                    "parameters": [collection_id],
                    "security": [{"bearer": []}],
                    "requestBody": feature_body,
                    "responses": {"201": feature_ok, **_errors(400, 401, 403, 404, 409, 413, 422)},
                },
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "summary": "A feature, current or as of datetime",
                    "operationId": "getFeature",
                    "parameters": [collection_id, feature_id, f, lang, crs, datetime_p],
                    "security": security,
                    "responses": {"200": feature_ok, **_errors(400, 401, 404, 406, 410)},
                },
                "put": {
                    "summary": "Replace (new version)",
                    "operationId": "replaceFeature",
                    "parameters": [collection_id, feature_id, if_match],
                    "security": [{"bearer": []}],
                    "requestBody": feature_body,
                    "responses": {
                        "200": feature_ok,
                        **_errors(400, 401, 403, 404, 409, 410, 412, 413, 422, 428),
                    },
                },
                "patch": {
                    "summary": "Update (JSON merge patch, new version)",
                    "operationId": "updateFeature",
                    "parameters": [collection_id, feature_id, if_match],
                    "security": [{"bearer": []}],
                    "requestBody": patch_body,
                    "responses": {
                        "200": feature_ok,
                        **_errors(400, 401, 403, 404, 409, 410, 412, 413, 422, 428),
                    },
                },
                "delete": {
                    "summary": "Retire (versions stay)",
                    "operationId": "deleteFeature",
                    "parameters": [collection_id, feature_id, if_match],
                    "security": [{"bearer": []}],
                    "responses": {
                        "204": {"description": "Retired"},
                        **_errors(400, 401, 403, 404, 409, 410, 412, 428),
                    },
                },
            },
            "/collections/{collectionId}/items/{featureId}/versions": {
                "get": {
                    "summary": "TimeMap of a feature's versions",
                    "operationId": "getFeatureVersions",
                    "parameters": [collection_id, feature_id, f, lang],
                    "security": security,
                    "responses": {
                        "200": _ok(
                            "TimeMap",
                            (_JSON, {"type": "object", "required": ["links", "versions"]}),
                            (_HTML, {"type": "string"}),
                        ),
                        **_errors(400, 401, 404, 406),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key (om_…) or a token from POST /auth/token",
                }
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details",
                    "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
            },
            "schemas": _schemas(),
        },
    }


def _schemas() -> dict[str, Any]:
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}
    geometry = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
    return {
        "Link": link,
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
            },
        },
        "Landing": {
            "type": "object",
            "required": ["links"],
            "properties": {"title": {"type": "string"}, "links": links},
        },
        "Conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "Collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}},
                "storageCrs": {"type": "string"},
                "extent": {"type": "object"},
                "links": links,
            },
        },
        "Collections": {
            "type": "object",
            "required": ["collections", "links"],
            "properties": {
                "collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}},
                "links": links,
            },
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                "geometry": geometry,
                "properties": {"type": "object"},
                "time": {"type": "object"},
                "links": links,
            },
        },
        "FeatureInput": {
            "type": "object",
            "required": ["type", "geometry"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": geometry,
                "properties": {"type": "object"},
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features", "links"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "timeStamp": {"type": "string", "format": "date-time"},
                "links": links,
            },
        },
    }
