"""The document's components: security schemes, the problem response and the schemas paths refer to."""

from __future__ import annotations

from typing import Any


def components() -> dict[str, Any]:
    """``components``: bearer and HTTP Basic security, the RFC 9457 problem response, schemas."""
    return {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "API key (om_…) or a token from POST /auth/token",
            },
            "basicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "User name and password of a One Map account (over HTTPS only)",
            },
        },
        "responses": {
            "Problem": {
                "description": "RFC 9457 problem details",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        },
        "schemas": schemas(),
    }


def schemas() -> dict[str, Any]:
    """Schemas of the documents the paths return and accept."""
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
