"""The OpenAPI 3.0 definition of the Features API, built from the registry.

Hand-written rather than FastAPI's generated 3.1 document: OGC clients and the OGC building
blocks expect 3.0, with the OGC parameter names (``bbox-crs``, ``filter-lang`` …) and
problem+json errors described exactly. One builder per path family; this module assembles them.

The document is the caller's: its ``collectionId`` enum names only the collections they may read,
so an anonymous caller never learns a restricted layer's id from it. Building one costs about
0.2 ms (40 layers, serialised), so it is built per request rather than cached per access view.
"""

from __future__ import annotations

from typing import Any

from analysis.catalogue import PROCESSES
from api.context import AppContext
from api.ogc.openapi.collections import collections_paths
from api.ogc.openapi.common import shared_params
from api.ogc.openapi.components import components
from api.ogc.openapi.core import core_paths
from api.ogc.openapi.items import items_paths
from api.ogc.openapi.processes import STATUS_INFO, processes_paths
from api.ogc.openapi.threed import threed_paths
from layers.principals import Principal


def openapi_document(ctx: AppContext, base: str, principal: Principal) -> dict[str, Any]:
    """The whole document for a server at ``base``, as ``principal`` may see it.

    Args:
        ctx: The application context (registry snapshot and settings).
        base: The server's base URL, for ``servers``.
        principal: The caller; only the vector collections they may read are enumerated.

    Returns:
        The OpenAPI 3.0.3 document as plain JSON-ready data.
    """
    readable = [layer.id for layer in ctx.registry.vector_layers() if principal.can_read(layer)]
    p = shared_params(readable)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "One Map 一张图 — OGC API Features",
            "version": "0.1.0",
            "description": "Changsha's versioned city layers: OGC API Features Parts 1–4, CQL2 filtering, "
            "valid-time versions (OGC Versioned Features proposal). This document is built for its caller: "
            "collectionId lists the collections you may read.",
        },
        "servers": [{"url": base}],
        "paths": {**core_paths(p), **collections_paths(p), **items_paths(p, ctx.settings.api),
                  **processes_paths(list(PROCESSES)),
                  **threed_paths([layer for layer in ctx.registry.vector_layers() if principal.can_read(layer)])},
        "components": _with_status_info(components()),
    }


def _with_status_info(parts: dict[str, Any]) -> dict[str, Any]:
    parts["schemas"]["StatusInfo"] = STATUS_INFO  # OGC API Processes job status (api/ogc/openapi/processes.py)
    return parts
