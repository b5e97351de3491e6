"""Graphs cached per (database, category, as-of), checked exact on every use.

Why a stamp and not notifications: tiles drop cache entries on ``onemap_edits`` notifications,
but a notification missed while a listener reconnects would leave a graph wrong for good, and a
graph is used whole, so there is nothing finer to drop. Instead every use asks the database one
small question (``sql/stamp.sql``): the newest ``onemap.changes`` id of the category's two
layers, one backward probe each in the ``changes_layer_latest`` index (migration 0007_network).
Every write, single-feature or bulk, inserts its change rows in the same transaction as the
versions (layers/lifecycle.py), so a committed edit or import in any worker or instance moves
the stamp.

One race remains: change ids are taken when a writer inserts, not when it commits. A writer in
flight while the graph was read may commit later with ids *below* the stamp (the test
``test_a_writer_in_flight_during_the_build_is_seen_when_it_commits`` builds exactly that). So
the build records the writers its snapshot saw in flight (``pg_snapshot_xip``) and how many
changes of the two layers it saw at or below the stamp; while any of those writers is
unsettled, each use also asks (``sql/settled.sql``) whether one has committed, and if so counts
again. Writers that started after the snapshot draw larger ids (sequences hand out values in
time order, and our writers take their xid with the changeset row, before any change id), so
they always move the stamp.

As-of graphs of past instants are checked the same way and never trusted blindly: a valid-time
edit (a version inserted with a past ``valid_from``, or closed at a past instant) changes what
was valid in the past.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib import resources

import asyncpg

from analysis.network.categories import VALVE_CODES, CategoryLayers
from analysis.network.model import PipeNetwork, build_network
from analysis.network.rows import metric_points, metric_segments
from layers.sql import Params, bind_named
from layers.temporal import AsOf, Current, predicate

MAX_GRAPHS = 8  # per process; a 100k-segment graph is ~100 MB, and most requests ask for "now"


@cache
def statement(name: str) -> str:
    """An SQL file of ``analysis/network/sql`` without its comment lines."""
    text = resources.files("analysis.network").joinpath("sql", name).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


@dataclass(slots=True)
class _Entry:
    network: PipeNetwork
    stamp: tuple[int, int]
    in_flight: list[int]
    seen: int | None  # changes at or below the stamp, counted only when writers were in flight


Key = tuple[str, str, dt.datetime | None]


class NetworkCache:
    """Per-process LRU of built graphs; see the module docstring for why each use is exact."""

    def __init__(self, max_graphs: int = MAX_GRAPHS) -> None:
        self.max_graphs = max_graphs
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._locks: dict[Key, asyncio.Lock] = {}
        self.builds = 0  # for tests and the benchmark: how many graphs were built

    def clear(self) -> None:
        """Forget every graph."""
        self._entries.clear()

    async def get(self, pool: asyncpg.Pool, cat: CategoryLayers, at: dt.datetime | None) -> PipeNetwork:
        """The graph of ``cat`` as of valid instant ``at`` (None: current), built or checked now."""
        async with pool.acquire() as conn:
            stamp = await _stamp(conn, cat)
            key: Key = (stamp["database"], cat.key, at)
            entry = self._entries.get(key)
            if entry is not None and await self._still_exact(conn, cat, entry, stamp):
                self._entries.move_to_end(key)
                return entry.network
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one build per key at a time; waiters then re-check the fresh entry
            entry = self._entries.get(key)
            if entry is not None:
                async with pool.acquire() as conn:
                    if await self._still_exact(conn, cat, entry, await _stamp(conn, cat)):
                        return entry.network
            async with pool.acquire() as conn:
                entry = await _build(conn, cat, at)
            self.builds += 1
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_graphs:
                self._entries.popitem(last=False)
            return entry.network

    async def _still_exact(
        self, conn: asyncpg.Connection, cat: CategoryLayers, entry: _Entry, stamp: asyncpg.Record,
    ) -> bool:
        if (stamp["segments_change"], stamp["points_change"]) != entry.stamp:
            return False
        if not entry.in_flight:
            return True
        sql, args = bind_named(statement("settled.sql"), {"xids": entry.in_flight, **_layers(cat, entry.stamp)})
        row = await conn.fetchrow(sql, *args)
        if row["seen"] is not None and row["seen"] != entry.seen:
            return False
        entry.in_flight = list(row["running"])  # settled writers never need asking again
        return True


def _layers(cat: CategoryLayers, stamp: tuple[int, int]) -> dict[str, object]:
    return {"segments": cat.segments.id, "points": cat.points.id, "segments_change": stamp[0],
            "points_change": stamp[1]}


async def _stamp(conn: asyncpg.Connection, cat: CategoryLayers) -> asyncpg.Record:
    sql, args = bind_named(statement("stamp.sql"), {"segments": cat.segments.id, "points": cat.points.id})
    return await conn.fetchrow(sql, *args)


async def _build(conn: asyncpg.Connection, cat: CategoryLayers, at: dt.datetime | None) -> _Entry:
    """Read both layers in one snapshot (the stamp first, so it describes exactly these rows)."""
    selection = Current() if at is None else AsOf(at)
    seg_params, pt_params = Params(), Params()
    flow = "flow_direction" if any(f.name == "flow_direction" for f in cat.segments.attributes.fields) else "NULL::text"
    seg_sql = statement("segments.sql").format(table=cat.segments.table, flow=flow,
                                               selection=predicate(selection, seg_params))
    pt_sql = statement("points.sql").format(table=cat.points.table, selection=predicate(selection, pt_params))
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        stamp = await _stamp(conn, cat)
        changes = (stamp["segments_change"], stamp["points_change"])
        seen = None
        if stamp["in_flight"]:
            sql, args = bind_named(statement("seen.sql"), _layers(cat, changes))
            seen = await conn.fetchval(sql, *args)
        segments = metric_segments(dict(await conn.fetchrow(seg_sql, *seg_params.values)))
        points = metric_points(dict(await conn.fetchrow(pt_sql, *pt_params.values)))
    network = build_network(cat.key, gravity=cat.gravity, segments=segments, points=points, valve_codes=VALVE_CODES)
    return _Entry(network, changes, list(stamp["in_flight"]), seen)


NETWORKS = NetworkCache()
