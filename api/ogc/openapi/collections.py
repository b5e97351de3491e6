"""Paths of the collections: the list, overlay registration, one collection and its schemas."""

from __future__ import annotations

from typing import Any

from api.ogc.openapi.common import (
    JSON,
    READ_SECURITY,
    SCHEMA_JSON,
    SIGNED_IN,
    Params,
    errors,
    json_or_html,
    ok,
)

# path suffix → (summary, operationId, response description) of the JSON Schema documents.
SCHEMA_DOCS = {
    "queryables": ("Queryables (JSON Schema)", "getQueryables", "Queryables"),
    "sortables": ("Sortables (JSON Schema)", "getSortables", "Sortables"),
    "schema": ("Schema of the features (JSON Schema, Part 5)", "getSchema", "Feature schema"),
}


def collections_paths(p: Params) -> dict[str, Any]:
    """``/collections`` (GET, POST), ``/collections/{id}`` and its queryables, sortables and schema."""
    out: dict[str, Any] = {
        "/collections": {
            "get": {
                "summary": "Collections you may see",
                "operationId": "getCollections",
                "parameters": [p.f, p.lang],
                "security": READ_SECURITY,
                "responses": {
                    "200": json_or_html("Collections", {"$ref": "#/components/schemas/Collections"}),
                    **errors(400, 401, 406),
                },
            },
            "post": {
                "summary": "Register an overlay layer (admin)",
                "operationId": "registerCollection",
                "security": SIGNED_IN,
                "requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object"}}}},
                "responses": {
                    "201": ok("Registered", (JSON, {"$ref": "#/components/schemas/Collection"})),
                    **errors(400, 401, 403, 409, 413, 422),
                },
            },
        },
        "/collections/{collectionId}": {
            "get": {
                "summary": "A collection",
                "operationId": "getCollection",
                "parameters": [p.collection_id, p.f, p.lang],
                "security": READ_SECURITY,
                "responses": {
                    "200": json_or_html("Collection", {"$ref": "#/components/schemas/Collection"}),
                    **errors(400, 401, 404, 406),
                },
            }
        },
    }
    for suffix, (summary, operation, what) in SCHEMA_DOCS.items():
        out[f"/collections/{{collectionId}}/{suffix}"] = {
            "get": {
                "summary": summary,
                "operationId": operation,
                "parameters": [p.collection_id, p.f, p.lang],
                "security": READ_SECURITY,
                "responses": {
                    "200": json_or_html(what, {"type": "object"}, SCHEMA_JSON),
                    **errors(400, 401, 404, 406),
                },
            }
        }
    return out
