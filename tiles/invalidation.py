"""Exact tile-cache invalidation: an edit anywhere drops exactly the tiles it touched, in every process.

Three paths lead here:

* ``onemap_edits`` notifications (sent by the one versioned write path, :mod:`layers.versioning`)
  name a layer and the EPSG:4490 boxes of the old and new geometries; the tiles meeting them
  (tile buffer included) are dropped from the memory tier at once and from the disk tier in a thread;
* ``onemap_registry`` notifications name layers whose zoom range, schema, style or access changed:
  none of their tiles can be trusted;
* on start-up (and after a lost connection) the disk tier, which outlives processes, is caught up
  with ``onemap.changes`` past its watermark, so edits made while nobody listened (an import run
  from the command line) drop exactly the tiles the notifications would have named.

While the LISTEN connection is down (a database restart), nothing is cached: the memory tier is
paused and the disk tier unusable, because an edit made then would evict nothing. The pool serves
requests again before LISTEN is back, so without the pause tiles rendered in that window would stay
cached past edits nobody heard. When LISTEN is back the disk tier is reconciled, derived caches
(extents) are told every layer changed, and the memory tier resumes, refusing renders begun earlier.

While a disk invalidation of a layer is under way, :meth:`TileInvalidator.disk_usable` says no for
it, so nobody reads a tile that is about to be deleted or writes one that was rendered too early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from functools import cache
from importlib import resources
from typing import Any

import asyncpg
import orjson

from layers.listener import Listener
from layers.registry import REGISTRY_CHANNEL, Registry
from layers.versioning import EDITS_CHANNEL
from tiles.cache import Box, MemoryTileCache
from tiles.disk import DiskTileCache

log = logging.getLogger("onemap.tiles")


@cache
def _changed_extents_sql() -> str:
    return resources.files("tiles").joinpath("sql", "changed_extents.sql").read_text(encoding="utf-8")


async def latest_change_id(conn: asyncpg.Connection) -> int:
    """The id of the newest ``onemap.changes`` row (0 when nothing was ever written)."""
    value = await conn.fetchval("SELECT coalesce(max(id), 0) FROM onemap.changes")
    return int(value)


async def changed_boxes(conn: asyncpg.Connection, registry: Registry, *, after_change_id: int) -> dict[str, list[Box]]:
    """Layer id → EPSG:4490 lon/lat boxes (one per changeset) of every change with id > ``after_change_id``.

    ``onemap.changes`` records each versioned write with the feature's version before and after;
    joining it to the layer table gives the old and new geometry of each change.
    """
    layer_ids = [
        r["layer_id"]
        for r in await conn.fetch("SELECT DISTINCT layer_id FROM onemap.changes WHERE id > $1", after_change_id)
    ]
    out: dict[str, list[Box]] = {}
    for layer_id in layer_ids:
        layer = registry.find(layer_id)
        if layer is None or not layer.is_vector:
            continue
        rows = await conn.fetch(_changed_extents_sql().format(table=layer.table), after_change_id, layer_id)
        boxes = [(r["xmin"], r["ymin"], r["xmax"], r["ymax"]) for r in rows if r["xmin"] is not None]
        if boxes:
            out[layer_id] = boxes
    return out


def with_derived(layer_id: str, boxes: Sequence[Box] | None) -> list[tuple[str, Sequence[Box] | None]]:
    """``layer_id`` and the tile sets derived from it, each with the boxes to drop.

    3D pipe tiles read their points layer's 地面高程 (:func:`tiles.threed_kinds.ground_dependents`).
    """
    from tiles.threed_kinds import ground_dependents

    return [(layer_id, boxes), *ground_dependents(layer_id, boxes)]


def parse_edit(payload: str) -> tuple[str, list[Box]]:
    """An ``onemap_edits`` payload → (layer id, EPSG:4490 lon/lat boxes).

    Raises:
        ValueError: The payload is not a notification :mod:`layers.versioning` sends.
    """
    try:
        message = orjson.loads(payload)
        layer_id = str(message["layer"])
        boxes: list[Box] = [tuple(map(float, b)) for b in message.get("bboxes", [])]  # type: ignore[misc]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable edit notification {payload[:200]!r}") from exc
    return layer_id, boxes


class TileInvalidator:
    """Keeps one process's memory tier, and the shared disk tier, true to the database."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        registry: Callable[[], Registry],
        memory: MemoryTileCache,
        disk: DiskTileCache | None,
        on_layer_changed: Callable[[str], object] = lambda _layer_id: None,
    ) -> None:
        """Wire the tiers; ``on_layer_changed`` hears every invalidated layer id (for derived caches)."""
        self.pool = pool
        self._registry = registry
        self.memory = memory
        self.disk = disk
        self._on_layer_changed = on_layer_changed
        self._disk_ready = False
        self._disk_busy: dict[str, int] = {}
        self._listener: Listener | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self.notifications = 0

    # ---- lifecycle ----------------------------------------------------------------------------
    async def start(self, url: str) -> None:
        """Listen for edits, then catch the disk tier up with what happened while nobody listened."""
        if self._listener is not None:  # an earlier start that failed half-way (retried at worker start-up)
            await self._listener.stop()
        self._listener = Listener(
            url, {EDITS_CHANNEL: self._on_edit, REGISTRY_CHANNEL: self._on_registry}, name="tile cache",
            on_lost=self._on_listener_lost, on_back=self._on_listener_back,
        )
        await self._listener.start()
        await self._reconcile_disk()

    async def stop(self) -> None:
        """Stop listening and wait for (or cancel) queued disk work."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._listener is not None:
            await self._listener.stop()
        self._listener = None

    async def settled(self) -> None:
        """Wait until queued disk invalidations are done (tests, seeding)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def disk_usable(self, layer_ids: Sequence[str]) -> bool:
        """Whether the disk tier may be read and written for a tile of ``layer_ids`` right now."""
        return (
            self.disk is not None and self._disk_ready and not any(lid in self._disk_busy for lid in layer_ids)
        )

    async def _reconcile_disk(self) -> None:
        if self.disk is None:
            return
        async with self.pool.acquire() as conn:
            latest = await latest_change_id(conn)
            mark = self.disk.read_watermark()
            if mark is None:
                # Unknown history: nothing on disk can be trusted.
                await asyncio.to_thread(self.disk.clear)
            elif mark < latest:
                boxes = await changed_boxes(conn, self._registry(), after_change_id=mark)
                for layer_id, layer_boxes in boxes.items():
                    for lid, lboxes in with_derived(layer_id, layer_boxes):
                        await asyncio.to_thread(self.disk.invalidate, lid, lboxes)
        self.disk.write_watermark(latest)
        self._disk_ready = True

    @property
    def listening(self) -> bool:
        """Whether edits are being heard (False while the database restarts)."""
        return self._listener is not None and self._listener.listening

    def _on_listener_lost(self) -> None:
        log.warning("tile cache: edits are not being heard; caching nothing until they are")
        self.memory.pause()
        self._disk_ready = False

    async def _on_listener_back(self) -> None:
        await self._reconcile_disk()
        for layer in self._registry().all():
            self._on_layer_changed(layer.id)  # derived caches (extents) may hold what an unheard edit changed
        self.memory.resume()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- notifications and eviction -----------------------------------------------------------
    def _on_edit(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.notifications += 1
        try:
            layer_id, boxes = parse_edit(payload)
        except ValueError:
            log.error("unreadable edit notification %r; dropping every cached tile", payload[:200])
            self.memory.clear()
            if self.disk is not None:
                self._spawn(asyncio.to_thread(self.disk.clear))
            return
        self.invalidate(layer_id, boxes)

    def _on_registry(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        # A layer's zoom range, schema, style or access changed: none of its tiles can be trusted.
        for layer_id in filter(None, payload.split(",")):
            self.invalidate(layer_id, None)

    def invalidate(self, layer_id: str, boxes: Sequence[Box] | None) -> int:
        """Drop ``layer_id``'s tiles meeting ``boxes`` (EPSG:4490 lon/lat; None = all) in both tiers.

        The memory tier is cleared before this returns; the disk tier in a thread, during which
        disk reads for the layer are skipped. Returns how many memory tiles were dropped.
        """
        dropped = 0
        for lid, lboxes in with_derived(layer_id, boxes):
            dropped += self.memory.invalidate(lid, lboxes)
            if self.disk is not None:
                self._disk_busy[lid] = self._disk_busy.get(lid, 0) + 1
                self._spawn(self._invalidate_disk(lid, lboxes))
        self._on_layer_changed(layer_id)
        return dropped

    async def _invalidate_disk(self, layer_id: str, boxes: Sequence[Box] | None) -> None:
        assert self.disk is not None
        try:
            await asyncio.to_thread(self.disk.invalidate, layer_id, boxes)
        finally:
            self._disk_busy[layer_id] -= 1
            if not self._disk_busy[layer_id]:
                del self._disk_busy[layer_id]
