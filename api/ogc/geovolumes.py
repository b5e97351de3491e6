"""Links to a collection's 3D Tiles tileset, as the OGC API - 3D GeoVolumes draft names them.

The draft's 3D Tiles requirements class (``/req/3dtiles/tileset``) asks collections with 3D Tiles
to link their tileset with the relation ``[ogc-rel:3d-geovolumes]`` and the media type
``application/3dtiles+json``; its core clause spells the type ``application/json+3dtiles``, a slip
its media-type table does not repeat. We follow the requirements class and the table.

No GeoVolumes conformance class is declared: its Core class requires a three-dimensional bbox in
every such collection's extent, and the collection documents keep the two-dimensional one the
Features API clients (QGIS, GDAL) read.
"""

from __future__ import annotations

from typing import Any

from layers.model import Layer
from tiles.errors import NotATileLayer
from tiles.threed_kinds import kind_of

GEOVOLUMES_REL = "http://www.opengis.net/def/rel/ogc/1.0/3d-geovolumes"
TILES3D_JSON = "application/3dtiles+json"


def threed_links(collection_url: str, layer: Layer) -> list[dict[str, Any]]:
    """The tileset link of ``layer`` (none for a layer without 3D tiles)."""
    try:
        kind_of(layer)
    except NotATileLayer:
        return []
    return [{"href": f"{collection_url}/3dtiles/tileset.json", "rel": GEOVOLUMES_REL, "type": TILES3D_JSON,
             "title": "3D Tiles 1.1 tileset (glb content, EXT_structural_metadata)"}]
