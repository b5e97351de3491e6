"""Paths of the landing page, the conformance declaration and this document."""

from __future__ import annotations

from typing import Any

from api.ogc.openapi.common import JSON, Params, errors, json_or_html


def core_paths(p: Params) -> dict[str, Any]:
    """``/``, ``/conformance`` and ``/openapi``."""

    def plain(summary: str, operation: str, what: str, schema: dict[str, Any], media: str = JSON) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "operationId": operation,
                "parameters": [p.f, p.lang],
                "responses": {"200": json_or_html(what, schema, media), **errors(400, 406)},
            }
        }

    return {
        "/": plain("Landing page", "getLandingPage", "Landing page", {"$ref": "#/components/schemas/Landing"}),
        "/conformance": plain(
            "Conformance classes", "getConformance", "Conformance", {"$ref": "#/components/schemas/Conformance"}
        ),
        "/openapi": plain(
            "This document",
            "getOpenAPI",
            "OpenAPI",
            {"type": "object"},
            "application/vnd.oai.openapi+json;version=3.0",
        ),
    }
