"""Paths of the 3D Tiles 1.1 routes (api/threed/routes.py): a collection's tileset and its glb tiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from api.ogc.geovolumes import TILES3D_JSON
from api.ogc.openapi.common import READ_SECURITY, errors, ok, param
from layers.model import Layer
from tiles.errors import NotATileLayer
from tiles.threed_kinds import kind_of

GLB = "model/gltf-binary"
TILESET = "/collections/{collectionId}/3dtiles/tileset.json"
CONTENT = "/collections/{collectionId}/3dtiles/{level}/{x}/{y}.glb"


def threed_ids(layers: Sequence[Layer]) -> list[str]:
    """The ids of ``layers`` that have 3D tiles (pipeline segments and points, buildings)."""
    out = []
    for layer in layers:
        try:
            kind_of(layer)
        except NotATileLayer:
            continue
        out.append(layer.id)
    return sorted(out)


def threed_paths(readable: Sequence[Layer]) -> dict[str, Any]:
    """The tileset and content paths; ``collectionId`` lists only the 3D collections the caller may read."""
    ids = threed_ids(readable)
    collection = param("collectionId", "A pipeline or building collection; restricted ones you may not read answer 404",
                       {"type": "string", "enum": ids} if ids else {"type": "string"}, where="path", required=True)
    when = param("datetime", "An instant (RFC 3339 date or date-time): the city as it stood then; intervals answer 400",
                 {"type": "string", "pattern": r"^\S+$"})

    def cell(name: str, description: str) -> dict[str, Any]:
        return param(name, description, {"type": "integer", "minimum": 0}, where="path", required=True)

    return {
        TILESET: {"get": {
            "summary": "3D Tiles 1.1 tileset of a pipeline or building collection (OGC API 3D GeoVolumes draft)",
            "operationId": "get3DTileset", "tags": ["3d tiles"], "parameters": [collection, when],
            "security": READ_SECURITY,
            "responses": {"200": ok("The tileset: an explicit quadtree whose content URIs are relative glb tiles",
                                    (TILES3D_JSON, {"type": "object"})),
                          **errors(400, 404)},
        }},
        CONTENT: {"get": {
            "summary": "One glb content tile of a 3D tileset (CGCS2000Quad level/x/y)",
            "operationId": "get3DTileContent", "tags": ["3d tiles"],
            "parameters": [collection, cell("level", "CGCS2000Quad level (a content level of the tileset)"),
                           cell("x", "Column"), cell("y", "Row"), when],
            "security": READ_SECURITY,
            "responses": {"200": ok("glTF 2.0 binary with EXT_mesh_features / EXT_structural_metadata",
                                    (GLB, {"type": "string", "format": "binary"})),
                          "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                          **errors(400, 404)},
        }},
    }
