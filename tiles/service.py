"""The tile service one process runs: render, size-limit, and cache tiles.

The API keeps one :class:`TileService` per worker; ``onemap tiles seed`` runs its own. Each
keeps its caches true through a :class:`~tiles.invalidation.TileInvalidator`, which listens on
``onemap_edits`` and ``onemap_registry`` so a change made anywhere drops exactly the affected
tiles in every process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from layers.extent import data_extent, extent_cache
from layers.model import Layer
from layers.registry import Registry
from layers.routing import fence
from layers.temporal import Current, Selection
from styles.catalog import label_field, properties_for
from tiles.cache import Box, MemoryTileCache, TileKey, Token
from tiles.density import by_key, density, render_if_fits
from tiles.disk import DiskTileCache
from tiles.generalise import Generalisation
from tiles.invalidation import TileInvalidator
from tiles.mvt import MAX_LEVEL, LayerPlan, TileAddress, render_layers
from tiles.query import TileQuery
from tiles.raster import epoch_file, pick_epoch, raster_bounds, render_png
from tiles.settings import TileSettings

FIRST_LIMIT = 4_096
# How long a layer's row bound (see TileService._rows_at_most) is trusted; an edit heard drops it sooner.
ROWS_TTL_S = 10.0
# A table's row estimate (-1: never analysed) and live-tuple count; see TileService._rows_at_most.
ROWS_SQL = ("SELECT c.reltuples::float8, pg_stat_get_live_tuples(c.oid)::float8 "
            "FROM pg_class c WHERE c.oid = $1::regclass")
# Bytes a feature takes in a tile below full detail, by geometry, to pick a starting level from a
# density count. Measured on the sample city and the benchmark's buildings (MVT, extent 4096, style
# attributes only); generous, so the estimate errs towards a level that fits.
BYTES_PER_FEATURE = {"Point": 14, "MultiPoint": 20, "LineString": 40, "MultiLineString": 48,
                     "Polygon": 42, "MultiPolygon": 48}


@dataclass
class RenderResult:
    """A finished tile and how it was made (for headers and tests)."""

    data: bytes
    source: str  # "memory", "disk" or "database"
    levels: dict[str, int] = field(default_factory=dict)


class TileService:
    """Vector and raster tiles for one process, through a memory LRU and the shared disk tier."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        registry: Callable[[], Registry],
        settings: TileSettings,
        var_dir: Path,
    ) -> None:
        self.pool = pool
        self._registry = registry
        self.settings = settings
        self.generalisation = Generalisation(full_attributes_zoom=settings.full_attributes_zoom)
        buffer_px = settings.buffer / settings.extent * 256
        self.memory = MemoryTileCache(settings.memory_cache_bytes, buffer_px=buffer_px)
        self.disk: DiskTileCache | None = (
            DiskTileCache(settings.resolved_cache_dir(var_dir), buffer_px=buffer_px) if settings.disk_cache else None
        )
        self._extents: dict[str, Box | None] = {}
        self._rows: dict[str, tuple[float, float]] = {}  # layer id -> (trusted until, row bound)
        # Count over-full tiles by key where tiles.density.by_key allows (False: by probe, to compare).
        self.count_by_key = True
        self.invalidation = TileInvalidator(
            pool=pool,
            registry=registry,
            memory=self.memory,
            disk=self.disk,
            on_layer_changed=self._forget_extent,
        )

    def _forget_extent(self, layer_id: str) -> None:
        # The vector extent is shared with the collection documents (layers.extent): drop it for both.
        self._extents.pop(layer_id, None)
        self._rows.pop(layer_id, None)
        extent_cache(self.pool).forget(layer_id)
        # Same callback as the eviction, so no render can slip in between: until a standby has
        # replayed this edit, no read comes from it (a stale tile would be cached again).
        fence(self.pool)

    @property
    def registry(self) -> Registry:
        """The registry snapshot the app holds now (it is replaced when layers change)."""
        return self._registry()

    # ---- lifecycle and invalidation (tiles.invalidation) ----------------------------------------
    async def start(self, url: str) -> None:
        """Listen for edits, then catch the disk tier up with what happened while nobody listened."""
        await self.invalidation.start(url)

    async def stop(self) -> None:
        """Stop listening for edits and finish (or cancel) queued disk work."""
        await self.invalidation.stop()

    @property
    def notifications(self) -> int:
        """Edit notifications heard so far (tests wait on it)."""
        return self.invalidation.notifications

    def invalidate(self, layer_id: str, boxes: Sequence[Box] | None) -> int:
        """Drop ``layer_id``'s tiles meeting ``boxes`` (EPSG:4490 lon/lat; None = all) in both tiers."""
        return self.invalidation.invalidate(layer_id, boxes)

    async def settled(self) -> None:
        """Wait until queued disk invalidations are done (tests, seeding)."""
        await self.invalidation.settled()

    def _disk_usable(self, key: TileKey) -> bool:
        return not key.variant and self.invalidation.disk_usable(key.layers)

    # ---- extents and rasters -------------------------------------------------------------------
    async def extent(self, layer: Layer, *, data_dir: Path) -> Box | None:
        """The layer's current extent in EPSG:4490 lon/lat (raster: its newest epoch's file)."""
        if layer.is_vector:
            # Computed and cached with the collection documents' extent (layers.extent);
            # _forget_extent drops it for both when an edit to the layer is heard.
            found = await data_extent(self.pool, layer)
            return found.bbox_4490 if found else None
        if layer.id in self._extents:
            return self._extents[layer.id]
        epoch = pick_epoch(layer, Current())
        path = epoch_file(data_dir, epoch) if epoch else None
        box = await asyncio.to_thread(raster_bounds, path) if path and path.exists() else None
        self._extents[layer.id] = box
        return box

    async def raster_tile(
        self, layer: Layer, tile: TileAddress, selection: Selection, *, data_dir: Path, use_cache: bool = True
    ) -> RenderResult:
        """A coloured PNG of the raster epoch ``selection`` picks (b"" when nothing is there)."""
        epoch = pick_epoch(layer, selection)
        if epoch is None or not (layer.min_zoom <= tile.z <= layer.max_zoom):
            return RenderResult(b"", "none")
        key = TileKey((layer.id,), tile.tms, tile.z, tile.x, tile.y, f"raster:{epoch.file}")
        if use_cache and self.memory.enabled:
            data = self.memory.get(key)
            if data is not None:
                return RenderResult(data, "memory")
        token = self.memory.token(key.layers)
        png = await asyncio.to_thread(
            render_png, layer, file=epoch_file(data_dir, epoch), tms_id=tile.tms, z=tile.z, x=tile.x, y=tile.y
        )
        data = png or b""
        if use_cache:
            self.memory.put(key, data, token)
        return RenderResult(data, "raster")

    # ---- rendering ----------------------------------------------------------------------------
    def layers_at_zoom(self, layers: Sequence[Layer], z: int) -> list[Layer]:
        """The vector layers of ``layers`` drawn at zoom ``z``."""
        return [layer for layer in layers if layer.is_vector and layer.min_zoom <= z <= layer.max_zoom]

    async def vector_tile(
        self,
        layers: Sequence[Layer],
        tile: TileAddress,
        query: TileQuery | None = None,
        *,
        use_cache: bool = True,
    ) -> RenderResult:
        """The MVT bytes (b"" when empty) of ``layers`` in ``tile``, from cache when possible.

        Each layer is cached on its own, so a combined tile is the concatenation of cached layers
        and seeding one layer serves every combination it appears in. Only a combination over the
        size ceiling is re-rendered together, tighter, and cached under its own key.
        """
        query = query or TileQuery()
        active = self.layers_at_zoom(layers, tile.z)
        if not active:
            return RenderResult(b"", "none")
        keys = {layer.id: self._key((layer.id,), tile, query.variant) for layer in active}
        blobs: dict[str, bytes] = {}
        sources: set[str] = set()
        if use_cache:
            for layer in active:
                found = await self._cached(keys[layer.id])
                if found is not None:
                    blobs[layer.id], where = found
                    sources.add(where)
        missing = [layer for layer in active if layer.id not in blobs]
        levels: dict[str, int] = {}
        if missing:
            token = self.memory.token(layer.id for layer in missing)
            async with self.pool.acquire() as conn:
                for layer in missing:
                    (blob,), lv = await self._render(conn, [layer], tile, query)
                    blobs[layer.id] = blob
                    levels.update(lv)
            sources.add("database")
            if use_cache:
                for layer in missing:
                    await self._store(keys[layer.id], blobs[layer.id], token)
        data = b"".join(blobs[layer.id] for layer in active)
        if len(data) > self.settings.max_tile_bytes and len(active) > 1:
            return await self._fit_together(active, tile, query, use_cache=use_cache)
        source = "database" if "database" in sources else ("disk" if "disk" in sources else "memory")
        return RenderResult(data, source, levels)

    def _key(self, layer_ids: tuple[str, ...], tile: TileAddress, variant: str) -> TileKey:
        return TileKey(layer_ids, tile.tms, tile.z, tile.x, tile.y, variant)

    async def _cached(self, key: TileKey) -> tuple[bytes, str] | None:
        if self.memory.enabled:
            data = self.memory.get(key)
            if data is not None:
                return data, "memory"
        if self._disk_usable(key):
            assert self.disk is not None
            token = self.memory.token(key.layers)
            data = await asyncio.to_thread(self.disk.get, key)
            if data is not None:
                self.memory.put(key, data, token)
                return data, "disk"
        return None

    async def _store(self, key: TileKey, data: bytes, token: Token) -> None:
        layer_token = Token(tuple(g for g in token.generations if g[0] in key.layers), token.epoch)
        stored = self.memory.put(key, data, layer_token) if self.memory.enabled else True
        if stored and self._disk_usable(key) and self.memory.token(key.layers) == layer_token:
            assert self.disk is not None
            await asyncio.to_thread(self.disk.put, key, data)

    async def _fit_together(
        self, layers: Sequence[Layer], tile: TileAddress, query: TileQuery, *, use_cache: bool
    ) -> RenderResult:
        key = self._key(tuple(layer.id for layer in layers), tile, "fit:" + query.variant)
        if use_cache and self.memory.enabled:
            data = self.memory.get(key)
            if data is not None:
                return RenderResult(data, "memory")
        token = self.memory.token(key.layers)
        async with self.pool.acquire() as conn:
            blobs, levels = await self._render(conn, layers, tile, query)
        data = b"".join(blobs)
        if use_cache:
            self.memory.put(key, data, token)
        return RenderResult(data, "database", levels)

    def plan(self, layer: Layer, z: int, query: TileQuery, level: int = 0, limit: int | None = None) -> LayerPlan:
        """What to render of ``layer`` at zoom ``z``: columns, generalisation level, feature limit, label."""
        requested = None
        if query.properties is not None:
            requested = [p for p in query.properties if p in layer.attributes.names]
        columns = self.generalisation.columns(
            layer, z, style_needs=properties_for(layer), requested=requested, level=level
        )
        return LayerPlan(layer, columns, level, limit, label=label_field(layer, z))

    async def _render(
        self, conn: asyncpg.Connection, layers: Sequence[Layer], tile: TileAddress, query: TileQuery
    ) -> tuple[list[bytes], dict[str, int]]:
        """Render, then tighten the largest layer step by step until the tile fits the ceiling."""
        if not layers:
            return [], {}
        budget = self.settings.max_tile_bytes
        share = budget // len(layers)
        started = [await self._starting_plan(conn, layer, tile, query, share) for layer in layers]
        plans = [plan for plan, _ in started]
        todo = [i for i, (_, blob) in enumerate(started) if blob is None]  # not rendered with its count
        blobs = [blob or b"" for _, blob in started]
        for i, blob in zip(todo, await self._run(conn, [plans[i] for i in todo], tile, query), strict=True):
            blobs[i] = blob
        while sum(map(len, blobs)) > budget:
            candidates = [i for i, p in enumerate(plans) if p.limit is None or p.limit > 1]
            if not candidates:
                break
            i = max(candidates, key=lambda j: len(blobs[j]))
            target = budget - (sum(map(len, blobs)) - len(blobs[i]))
            tighter = self._tighter(plans[i], tile.z, query, size=len(blobs[i]), target=target)
            (blob,) = await self._run(conn, [tighter], tile, query)
            if not blob and blobs[i] and tighter.limit is None:
                # The next level dropped everything: keep this level and thin by count instead.
                tighter = self.plan(plans[i].layer, tile.z, query, plans[i].level, FIRST_LIMIT)
                (blob,) = await self._run(conn, [tighter], tile, query)
            plans[i], blobs[i] = tighter, blob
        return blobs, {p.layer.id: p.level for p in plans}

    async def _starting_plan(
        self, conn: asyncpg.Connection, layer: Layer, tile: TileAddress, query: TileQuery, budget: int
    ) -> tuple[LayerPlan, bytes | None]:
        """Level 0, unless a density count says the tile would overflow: then the first level whose
        surviving features fit, or thinning by count when even the last level is too full. Rendering
        a dense tile to learn it is too big costs as much as rendering it, once per level tried.

        Counted by key (tiles.density), a tile that fits comes back rendered with its count."""
        plan = self.plan(layer, tile.z, query)
        if tile.z >= self.generalisation.full_detail_zoom:
            return plan, None  # full-detail tiles are small on the ground; the retry loop covers the rare overflow
        per_feature = BYTES_PER_FEATURE.get(layer.geometry_type or "", 48)
        fits = int(budget * 0.9 / per_feature)
        if await self._rows_at_most(conn, layer) <= fits:
            # The whole table fits: counting this tile's rows first would only add a statement
            # (the sample pipelines). Should the estimate lag, the retry loop still tightens.
            return plan, None
        counts: list[int] | None
        if self.count_by_key and by_key(layer, tile, query.selection, query.filters or None):
            blob, counts = await render_if_fits(conn, plan, tile, cap=fits + 1, generalisation=self.generalisation,
                                                extent=self.settings.extent, buffer=self.settings.buffer)
            if blob is not None:
                return plan, blob
        else:
            counts = await density(conn, plan, tile, cap=fits + 1, use_key=False, selection=query.selection,
                                   generalisation=self.generalisation, extent=self.settings.extent,
                                   buffer=self.settings.buffer, filters=query.filters or None)
            if counts is None:
                return plan, None
        for level, n in enumerate(counts):
            if n <= fits:
                return (plan if level == 0 else self.plan(layer, tile.z, query, level)), None
        return self.plan(layer, tile.z, query, MAX_LEVEL, max(1, fits)), None

    async def _rows_at_most(self, conn: asyncpg.Connection, layer: Layer) -> float:
        """An upper bound on ``layer``'s rows (inf when the table has no estimate yet), cached briefly."""
        now = time.monotonic()
        cached = self._rows.get(layer.id)
        if cached is not None and cached[0] > now:
            return cached[1]
        # Every version counts, so the bound holds for any datetime too. The larger of the planner's
        # estimate and the live count, because the count follows a bulk load before ANALYZE does.
        found = await conn.fetchrow(ROWS_SQL, layer.table)
        rows = float("inf") if found is None or found[0] < 0 else max(found[0], found[1])
        self._rows[layer.id] = (now + ROWS_TTL_S, rows)
        return rows

    def _tighter(self, plan: LayerPlan, z: int, query: TileQuery, *, size: int, target: int) -> LayerPlan:
        if plan.limit is None and plan.level < MAX_LEVEL:
            return self.plan(plan.layer, z, query, plan.level + 1)
        current = plan.limit or FIRST_LIMIT
        ratio = max(target, 1) / max(size, 1)
        return self.plan(plan.layer, z, query, plan.level, max(1, int(current * min(ratio, 0.9))))

    async def _run(
        self, conn: asyncpg.Connection, plans: list[LayerPlan], tile: TileAddress, query: TileQuery
    ) -> list[bytes]:
        filters = query.filters
        return await render_layers(
            conn,
            plans,
            tile,
            selection=query.selection,
            generalisation=self.generalisation,
            extent=self.settings.extent,
            buffer=self.settings.buffer,
            filters=filters or None,
        )
