"""3D tiles of one process, cached and invalidated exactly like the vector tiles.

The 3D tiles share the :class:`~tiles.service.TileService`'s memory LRU, disk tier and invalidator.
A content tile is cached under ``TileKey(("@3d", layer), "CGCS2000Quad", z, x, y, variant)`` (pipe
segment tiles also name ``@ground.<points layer>``, see :func:`tiles.threed_kinds.ground_dependents`): the
edit notifications that drop a layer's vector tiles meeting a box drop its 3D tiles meeting it too
(a feature sits in the cell holding its box's centre, which lies in the box), the disk tier keeps
default (current) tiles in ``<cache>/CGCS2000Quad/@3d+<layer>/`` beside the vector tile sets, and
start-up reconciliation with ``onemap.changes`` covers them as it covers those.

The tileset document is cached in memory only, keyed at level 0 of the same grid, so any edit of
the layer drops it (its cells and extents may have changed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from layers.extent import data_extent
from layers.model import Layer
from layers.temporal import Current, Selection
from spatial.tms import CGCS2000_QUAD
from tiles.cache import TileKey
from tiles.disk import THREED_SET
from tiles.errors import TileError
from tiles.gltf_writer import class_schema, empty_glb, write_glb
from tiles.query import TileQuery
from tiles.service import TileService
from tiles.threed_build import build_content
from tiles.threed_kinds import GROUND_TAG, Kind, kind_of, points_layer_id
from tiles.threed_query import cell_rows, cell_size_deg, cells
from tiles.threed_tileset import build_tileset, leaf_frame

PSEUDO_LAYER = THREED_SET  # the disk tier names these tiles .glb
GLB = "model/gltf-binary"


class NoSuchTile(TileError):
    """404: the address is not a content tile of this tileset."""

    status = 404
    type_slug = "no-such-tile"
    title = "There is no such 3D tile"


@dataclass
class ContentResult:
    """A content tile's bytes, where they came from, and how many features it holds (-1: unknown)."""

    data: bytes
    source: str
    features: int = -1


class ThreeDService:
    """Tilesets and glb content of pipeline and building layers, through the shared tile caches."""

    def __init__(self, tiles: TileService) -> None:
        """Use ``tiles``'s pool, registry, caches and invalidation."""
        self.tiles = tiles

    @staticmethod
    def kind(layer: Layer) -> Kind:
        """The 3D kind of ``layer`` (404 problem for layers without 3D tiles)."""
        return kind_of(layer)

    def _key(self, layer: Layer, z: int, x: int, y: int, variant: str) -> TileKey:
        return TileKey((PSEUDO_LAYER, layer.id), CGCS2000_QUAD, z, x, y, variant)

    def _content_key(self, layer: Layer, kind: Kind, z: int, x: int, y: int, variant: str) -> TileKey:
        # Segment tiles also carry their points layer's ground tag: a points edit drops them too.
        extra = (GROUND_TAG + points_layer_id(layer.id),) if kind.name == "segments" else ()
        return TileKey((PSEUDO_LAYER, layer.id, *extra), CGCS2000_QUAD, z, x, y, variant)

    async def tileset(self, layer: Layer, selection: Selection | None = None, *, query: str = "") -> dict[str, Any]:
        """The tileset JSON of ``layer`` as ``selection`` reads it (content URIs carry ``query``)."""
        kind = kind_of(layer)
        selection = selection or Current()
        variant = "tileset:" + TileQuery(selection=selection).variant + "?" + query
        key = self._key(layer, 0, 1, 0, variant)  # 0/1/0: the eastern hemisphere's level-0 cell
        memory = self.tiles.memory
        cached = memory.get(key) if memory.enabled else None
        if cached is not None:
            doc: dict[str, Any] = orjson.loads(cached)
            return doc
        token = memory.token(key.layers)
        async with self.tiles.pool.acquire() as conn:
            found = await cells(conn, layer, kind, kind.zoom, selection)
            coarse = (await cells(conn, layer, kind, kind.lod_zoom, selection, coarse=True)
                      if kind.lod_zoom is not None else [])
        doc = build_tileset(found, query=query, title=f"{layer.id}", zoom=kind.zoom, coarse=coarse,
                            coarse_zoom=kind.lod_zoom)
        # The feature classes with their descriptions, for viewers that label what a click shows.
        doc["schema"] = {"id": "onemap", "classes": {kind.class_id: {
            "name": layer.title_en, "description": f"{layer.title_zh} — features of /collections/{layer.id}/items",
            "properties": class_schema(kind.props, descriptions=True)}}}
        if memory.enabled:
            memory.put(key, orjson.dumps(doc), token)
        return doc

    async def check_address(self, layer: Layer, z: int, x: int, y: int) -> None:
        """Refuse an address that is not a content cell near the layer's data (404 problem)."""
        kind = kind_of(layer)
        if z not in (kind.zoom, kind.lod_zoom):
            levels = " and ".join(str(v) for v in (kind.lod_zoom, kind.zoom) if v is not None)
            raise NoSuchTile(f"3D content tiles of {layer.id} are at level {levels}, not {z}")
        size = cell_size_deg(z)
        if not (0 <= x < round(360 / size) and 0 <= y < round(180 / size)):
            raise NoSuchTile(f"tile {z}/{x}/{y} is outside the CGCS2000Quad grid")
        extent = await data_extent(self.tiles.pool, layer)
        if extent is None:
            raise NoSuchTile(f"{layer.id} holds no features, so its tileset has no content tiles")
        west, south, east, north = extent.bbox_4490
        cx, cy = -180.0 + (x + 0.5) * size, 90.0 - (y + 0.5) * size
        if not (west - size <= cx <= east + size and south - size <= cy <= north + size):
            raise NoSuchTile(f"tile {z}/{x}/{y} lies outside {layer.id}'s extent")

    async def content(
        self, layer: Layer, z: int, x: int, y: int, selection: Selection | None = None, *, use_cache: bool = True
    ) -> ContentResult:
        """The glb of cell ``z/x/y`` of ``layer`` (an empty scene when no feature is there)."""
        kind = kind_of(layer)
        selection = selection or Current()
        key = self._content_key(layer, kind, z, x, y, TileQuery(selection=selection).variant)
        if use_cache:
            found = await self._cached(key)
            if found is not None:
                return found
        token = self.tiles.memory.token(key.layers)
        async with self.tiles.pool.acquire() as conn:
            rows = await cell_rows(conn, self.tiles.registry, layer, kind, z, x, y, selection,
                                   coarse=z == kind.lod_zoom)
        data = await asyncio.to_thread(self._render, layer, kind, rows, z, x, y)
        if use_cache:
            await self._store(key, data, token)
        return ContentResult(data, "database", len(rows))

    @staticmethod
    def _render(layer: Layer, kind: Kind, rows: list[dict[str, Any]], z: int, x: int, y: int) -> bytes:
        if not rows:
            return empty_glb()
        return write_glb(build_content(layer, kind, rows, leaf_frame(z, x, y), coarse=z == kind.lod_zoom))

    async def _cached(self, key: TileKey) -> ContentResult | None:
        memory, inv = self.tiles.memory, self.tiles.invalidation
        if memory.enabled and (data := memory.get(key)) is not None:
            return ContentResult(data, "memory")
        if not key.variant and self.tiles.disk is not None and inv.disk_usable(key.layers):
            token = memory.token(key.layers)
            data = await asyncio.to_thread(self.tiles.disk.get, key)
            if data is not None:
                memory.put(key, data, token)
                return ContentResult(data, "disk")
        return None

    async def _store(self, key: TileKey, data: bytes, token: Any) -> None:
        memory, disk = self.tiles.memory, self.tiles.disk
        stored = memory.put(key, data, token) if memory.enabled else True
        if (stored and not key.variant and disk is not None and self.tiles.invalidation.disk_usable(key.layers)
                and memory.token(key.layers) == token):
            await asyncio.to_thread(disk.put, key, data)
