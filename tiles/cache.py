"""The per-process tile cache: an LRU of finished tiles, invalidated by layer and EPSG:4490 box.

Correctness rule: a tile rendered from a snapshot older than an edit must never be served after
the edit's notification has been handled. Two mechanisms give that:

* :meth:`MemoryTileCache.invalidate` drops every cached tile of the layer whose (buffered) extent
  meets one of the edit's boxes, at every zoom and in every tile matrix set;
* a render takes a :meth:`token` before it reads the database and :meth:`put` refuses the result
  if any of its layers was invalidated meanwhile, so a render racing an edit is never cached.

While nobody hears edits (the LISTEN connection is down: a database restart) the cache is
paused (:meth:`pause`): it holds nothing and keeps nothing, since an edit made then would not evict.
:meth:`resume` refuses every render begun before it, which may predate an edit nobody heard.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spatial.tms import TileRange, tile_range

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class TileKey:
    """A cached tile: which layers, where, and which variant of the query.

    ``variant`` is "" for the default tile (current state, default attributes, no filter) —
    the only variant the disk tier keeps.
    """

    layers: tuple[str, ...]
    tms: str
    z: int
    x: int
    y: int
    variant: str = ""


@dataclass
class CacheStats:
    """Counters of one memory cache (hits, misses, stores, refused stores, evictions by edits)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    refused: int = 0
    invalidations: int = 0
    evicted_by_edit: int = 0


@dataclass(frozen=True, slots=True)
class Token:
    """Per-layer generation numbers taken before a render."""

    generations: tuple[tuple[str, int], ...]
    epoch: int = 0  # :meth:`MemoryTileCache.clear` calls (a render begun before one is never stored)


@dataclass
class MemoryTileCache:
    """A size-bounded LRU of tiles with invalidation by layer and box.

    Thread-safe: the seeding CLI renders from worker threads.
    """

    max_bytes: int
    buffer_px: float = 4.0
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[TileKey, bytes] = OrderedDict()
        self._buckets: dict[tuple[str, str, int], set[TileKey]] = {}
        self._generation: dict[str, int] = {}
        self._bytes = 0
        self._epoch = 0
        self._paused = False
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether the cache keeps anything (a zero budget turns it off)."""
        return self.max_bytes > 0

    @property
    def paused(self) -> bool:
        """Whether the cache is refusing tiles because edits are not being heard (see :meth:`pause`)."""
        return self._paused

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes of tile data held now."""
        return self._bytes

    def get(self, key: TileKey) -> bytes | None:
        """The cached bytes of ``key`` (promoted in the LRU), or None."""
        with self._lock:
            data = self._entries.get(key)
            if data is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return data

    def peek(self, key: TileKey) -> bytes | None:
        """Like :meth:`get`, for callers that have not validated the request (no LRU promotion)."""
        data = self._entries.get(key)
        if data is not None:
            self.stats.hits += 1
        return data

    def token(self, layers: Iterable[str]) -> Token:
        """The current generations of ``layers``; take it before rendering and hand it to :meth:`put`."""
        with self._lock:
            return Token(tuple((lid, self._generation.get(lid, 0)) for lid in layers), self._epoch)

    def put(self, key: TileKey, data: bytes, token: Token) -> bool:
        """Store ``data`` unless an invalidation of one of its layers happened since ``token``."""
        if not self.enabled or len(data) > self.max_bytes:
            return False
        with self._lock:
            if self._paused or token.epoch != self._epoch or any(
                self._generation.get(lid, 0) != gen for lid, gen in token.generations
            ):
                self.stats.refused += 1
                return False
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = data
            self._bytes += len(data)
            for lid in key.layers:
                self._buckets.setdefault((lid, key.tms, key.z), set()).add(key)
            self.stats.stores += 1
            while self._bytes > self.max_bytes and self._entries:
                victim, vdata = self._entries.popitem(last=False)
                self._bytes -= len(vdata)
                self._unindex(victim)
            return True

    def _unindex(self, key: TileKey) -> None:
        for lid in key.layers:
            bucket = self._buckets.get((lid, key.tms, key.z))
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self._buckets[(lid, key.tms, key.z)]

    def _drop(self, key: TileKey) -> None:
        data = self._entries.pop(key, None)
        if data is not None:
            self._bytes -= len(data)
        self._unindex(key)

    def invalidate(self, layer_id: str, boxes: Sequence[Box] | None) -> int:
        """Drop ``layer_id``'s tiles meeting any of ``boxes`` (EPSG:4490 lon/lat); None = all of them.

        Returns how many cached tiles were dropped.
        """
        with self._lock:
            self._generation[layer_id] = self._generation.get(layer_id, 0) + 1
            self.stats.invalidations += 1
            dropped = 0
            for (lid, tms, z), bucket in list(self._buckets.items()):
                if lid != layer_id:
                    continue
                if boxes is None:
                    victims = list(bucket)
                else:
                    ranges = touched_ranges(tms, boxes, z, buffer_px=self.buffer_px)
                    victims = [k for k in bucket if any((k.x, k.y) in r for r in ranges)]
                for key in victims:
                    self._drop(key)
                dropped += len(victims)
            self.stats.evicted_by_edit += dropped
            return dropped

    def clear(self) -> None:
        """Drop every tile, and refuse renders begun before now (of any layer: the epoch moves on)."""
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._buckets.clear()
            self._bytes = 0

    def pause(self) -> None:
        """Drop every tile and store none until :meth:`resume`: edits are not being heard."""
        with self._lock:
            self._paused = True
        self.clear()

    def resume(self) -> None:
        """Store tiles again, refusing every render begun before now (it may predate an unheard edit)."""
        with self._lock:
            self._paused = False
        self.clear()


def touched_ranges(tms_id: str, boxes: Sequence[Box], z: int, *, buffer_px: float) -> list[TileRange]:
    """The tile ranges at zoom ``z`` that ``boxes`` (EPSG:4490 lon/lat) touch, tile buffer included.

    Both tiers drop exactly these tiles, so a tile whose buffer reaches into an edit goes too.
    """
    return [r for b in boxes if (r := tile_range(tms_id, b, z, buffer_px=buffer_px)) is not None]
