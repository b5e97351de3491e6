"""Two writers on one feature, step by step on two real connections: the second waits for the
first's row lock, and must then see the first's new version, not a retired feature."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from shapely.geometry import Point

from layers.db import connect
from layers.errors import FeatureRetired, VersionConflict
from layers.model import Layer, LayerDef
from layers.registry import register_layer
from layers.versioning import (
    FeatureIn,
    VersionRef,
    in_own_transaction,
    insert_feature,
    open_changeset,
    replace_feature,
    retire_feature,
    update_feature,
)
from tests.layers.conftest import TEST_LAYER

P = Point(112.97, 28.2)
Write = Callable[[asyncpg.Connection], Awaitable[Any]]


@pytest.fixture
async def two(fresh_db_url: str) -> AsyncIterator[Race]:
    """Two connections to a fresh database, a test layer and one feature (version 1) in it."""
    a, b = await connect(fresh_db_url), await connect(fresh_db_url)
    try:
        layer = await register_layer(a, LayerDef.model_validate(TEST_LAYER))
        cs = await open_changeset(a, actor="pytest", source="test")
        ref = await insert_feature(a, layer=layer, feature=FeatureIn(P, {"code": "R", "n": 0}), changeset_id=cs)
        yield Race(fresh_db_url, a, b, layer, ref.fid)
    finally:
        await a.close()
        await b.close()


@dataclass
class Race:
    """Writer ``a`` takes the feature's lock; writer ``b`` queues behind it."""

    url: str
    a: asyncpg.Connection
    b: asyncpg.Connection
    layer: Layer
    fid: int
    attempts: int = 0

    async def _waiting_for_lock(self) -> None:
        watcher = await connect(self.url)
        try:
            for _ in range(250):
                sql = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
                if await watcher.fetchval(sql, self.b.get_server_pid()):
                    return
                await asyncio.sleep(0.02)
        finally:
            await watcher.close()
        raise AssertionError("the second writer never waited for the row lock")

    async def run(self, first: Write, second: Write, *, b_begins_first: bool) -> Any:
        """``first`` writes on a and holds the lock; ``second`` (through ``in_own_transaction``) waits
        for it on b; a commits; b's outcome. With ``b_begins_first``, b's transaction (and so its
        ``now()``) starts before a's, as when a later request wins the lock."""
        gate, began = asyncio.Event(), asyncio.Event()

        async def second_in_b(conn: asyncpg.Connection) -> Any:
            self.attempts += 1
            await conn.fetchval("SELECT now()")
            began.set()
            await gate.wait()
            return await second(conn)

        if not b_begins_first:
            gate.set()
        tx = self.a.transaction()
        task: asyncio.Task[Any] | None = None
        if b_begins_first:
            task = asyncio.create_task(in_own_transaction(self.b, second_in_b))
            await began.wait()
        await tx.start()
        try:
            await first(self.a)
            gate.set()
            task = task or asyncio.create_task(in_own_transaction(self.b, second_in_b))
            await self._waiting_for_lock()
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()
        return await asyncio.wait_for(task, 30)


def _replace(layer: Layer, fid: int, n: int, expected: int | None = None) -> Write:
    async def write(conn: asyncpg.Connection) -> VersionRef:
        cs = await open_changeset(conn, actor=f"writer-{n}", source="test")
        return await replace_feature(conn, layer=layer, fid=fid, feature=FeatureIn(P, {"code": "R", "n": n}),
                                     changeset_id=cs, expected_version=expected)
    return write


async def _rows(conn: asyncpg.Connection, layer: Layer, fid: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT version, n, valid_from, valid_to, recorded_at, superseded_at FROM {layer.table} "
        "WHERE fid = $1 ORDER BY version", fid,
    )


ORDERS = pytest.mark.parametrize("b_begins_first", [False, True], ids=["a-began-first", "b-began-first"])


@ORDERS
async def test_waiting_writer_with_the_same_if_match_gets_412_not_410(two: Race, b_begins_first: bool) -> None:
    layer, fid = two.layer, two.fid
    with pytest.raises(VersionConflict, match="version 2, not 1"):
        await two.run(_replace(layer, fid, 1, expected=1), _replace(layer, fid, 2, expected=1),
                      b_begins_first=b_begins_first)
    assert [(r["version"], r["n"]) for r in await _rows(two.a, layer, fid)] == [(1, 0), (2, 1)]
    assert two.attempts == 1  # a stale If-Match is final: nothing to retry


@ORDERS
async def test_waiting_unconditional_writer_lands_after_the_first(two: Race, b_begins_first: bool) -> None:
    layer, fid = two.layer, two.fid
    ref = await two.run(_replace(layer, fid, 1), _replace(layer, fid, 2), b_begins_first=b_begins_first)
    assert ref.version == 3
    # b overtaken by a writer that began later runs again, with a later now(); otherwise once.
    assert two.attempts == (2 if b_begins_first else 1)
    rows = await _rows(two.a, layer, fid)
    assert [(r["version"], r["n"]) for r in rows] == [(1, 0), (2, 1), (3, 2)]
    # Bitemporally sound: every version closes no earlier than it began, in valid and in transaction time.
    for before, after in itertools.pairwise(rows):
        assert before["valid_to"] == after["valid_from"] >= before["valid_from"]
        assert before["superseded_at"] == after["recorded_at"] >= before["recorded_at"]


@ORDERS
async def test_waiting_patch_merges_into_the_newer_version(two: Race, b_begins_first: bool) -> None:
    layer, fid = two.layer, two.fid

    async def patch_kind(conn: asyncpg.Connection) -> VersionRef:
        cs = await open_changeset(conn, actor="patcher", source="test")
        return await update_feature(conn, layer=layer, fid=fid, patch={"kind": "b"}, geometry=None, changeset_id=cs)

    await two.run(_replace(layer, fid, 7), patch_kind, b_begins_first=b_begins_first)
    sql = f"SELECT version, n, kind FROM {layer.table} WHERE fid = $1 AND valid_to IS NULL"
    last = await two.a.fetchrow(sql, fid)
    assert (last["version"], last["n"], last["kind"]) == (3, 7, "b")  # the first writer's n survives


@ORDERS
async def test_waiting_writer_after_a_retirement_gets_410(two: Race, b_begins_first: bool) -> None:
    layer, fid = two.layer, two.fid

    async def retire(conn: asyncpg.Connection) -> VersionRef:
        cs = await open_changeset(conn, actor="retirer", source="test")
        return await retire_feature(conn, layer=layer, fid=fid, changeset_id=cs)

    with pytest.raises(FeatureRetired):
        await two.run(retire, _replace(layer, fid, 2), b_begins_first=b_begins_first)
    assert [(r["version"], r["valid_to"] is None) for r in await _rows(two.a, layer, fid)] == [(1, False)]
