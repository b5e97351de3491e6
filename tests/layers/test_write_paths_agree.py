"""Property test: the per-feature path (layers.versioning) and the set-based path (layers.bulk)
apply one rule set. The same random edits, run through each on its own clone of the database,
must leave identical version tables, audit rows, registry extents and tile notifications."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
import pytest
import shapely
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from layers import bulk
from layers.changes import feature_changes
from layers.db import connect
from layers.errors import LayerError
from layers.lifecycle import EDITS_CHANNEL
from layers.model import Layer, LayerDef
from layers.registry import Registry, note_temporal_extent, register_layer
from layers.versioning import (
    FeatureIn,
    insert_feature,
    open_changeset,
    replace_feature,
    retire_feature,
    update_feature,
)
from tests import support
from tests.layers.conftest import TEST_LAYER

T0 = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
KEYS = ("k0", "k1", "k2", "k3")
Y = 28.2

op_strategy = st.tuples(
    st.sampled_from(["insert", "replace", "update", "retire"]),
    st.integers(0, len(KEYS) - 1),  # which key: among the free ones (insert) or the live ones (edits)
    st.integers(-6, 20),  # days after the latest valid time so far (negative may back-date: must be refused)
    st.integers(0, 60),  # new n (and x, for insert and replace)
    st.sampled_from(["a", "b"]),  # new kind (insert and replace)
    st.integers(0, 2),  # which set-based shape: see _bulk_op
)
Op = tuple[str, int, int, int, str, int]


@dataclass
class Side:
    """One write path's clone of the database: a writing connection and what its listener heard."""

    conn: asyncpg.Connection
    listener: asyncpg.Connection
    layer: Layer
    heard: list[dict[str, Any]] = field(default_factory=list)


async def _open_side(url: str) -> Side:
    conn = await connect(url)
    layer = await register_layer(conn, LayerDef.model_validate(TEST_LAYER))
    side = Side(conn=conn, listener=await connect(url), layer=layer)
    await side.listener.add_listener(EDITS_CHANNEL, lambda *a: side.heard.append(orjson.loads(a[3])))
    return side


@pytest.fixture
async def sides(pg_server: support.TestServer, template_db: str) -> AsyncIterator[tuple[Side, Side]]:
    """Two clones of the migrated template, each with the test layer registered."""
    names = [pg_server.new_name("feat"), pg_server.new_name("bulk")]
    opened: list[Side] = []
    try:
        for name in names:
            opened.append(await _open_side(await pg_server.create_database(name, template=template_db)))
        yield opened[0], opened[1]
    finally:
        for side in opened:
            await side.conn.close()
            await side.listener.close()
        for name in names:
            await pg_server.drop_database(name)


async def _reset(side: Side) -> None:
    # Test cleanup between examples (normal use never deletes). Resetting the id sequence in both
    # clones lets feature ids be compared directly: both paths draw one id per new feature.
    await side.conn.execute(
        "TRUNCATE data.test_sites, onemap.changes, onemap.bulk_changes; "
        "UPDATE onemap.layers SET temporal_start = NULL, temporal_end = NULL WHERE id = 'test_sites'; "
        "SELECT setval('onemap.feature_id_seq', 1000, false)"
    )
    side.heard.clear()


@dataclass(frozen=True)
class Current:
    """The open version of a key, as the per-feature clone has it."""

    fid: int
    kind: str
    n: int
    x: float


async def _current(conn: asyncpg.Connection) -> dict[str, Current]:
    rows = await conn.fetch("SELECT fid, code, kind, n, ST_X(geom) AS x FROM data.test_sites WHERE valid_to IS NULL")
    return {r["code"]: Current(r["fid"], r["kind"], r["n"], r["x"]) for r in rows}


def _x(n: int) -> float:
    return 112.9 + n / 1000


def _row(no: int, code: str, kind: str, n: int, x: float, at: dt.datetime | None) -> tuple[object, ...]:
    return (no, shapely.to_wkb(Point(x, Y)), at, code, kind, n)


async def _feature_op(side: Side, cs: int, kind: str, key: str, live: dict[str, Current], at: dt.datetime,
                      props: dict[str, Any], x: float) -> None:
    layer, conn = side.layer, side.conn
    if kind == "insert":
        await insert_feature(conn, layer=layer, feature=FeatureIn(Point(x, Y), props), changeset_id=cs, valid_from=at)
    elif kind == "replace":
        await replace_feature(conn, layer=layer, fid=live[key].fid, feature=FeatureIn(Point(x, Y), props),
                              changeset_id=cs, valid_from=at)
    elif kind == "update":
        await update_feature(conn, layer=layer, fid=live[key].fid, patch={"n": props["n"]}, geometry=None,
                             changeset_id=cs, valid_from=at)
    else:
        await retire_feature(conn, layer=layer, fid=live[key].fid, changeset_id=cs, valid_to=at)


async def _bulk_op(side: Side, cs: int, kind: str, key: str, live: dict[str, Current], at: dt.datetime,
                   props: dict[str, Any], x: float, shape: int) -> None:
    """The set-based counterpart of one edit, as a one-row delivery in one transaction (as ingest runs it).

    ``shape`` picks among the equivalent set-based entry points: the valid time as an argument or
    on the staged row, append or upsert for a new key, retire by key or by a survey that lacks it.
    """
    row_time = at if shape == 1 else None
    arg_time = None if shape == 1 else at
    async with side.conn.transaction():
        staging = await bulk.create_staging(side.conn, side.layer)
        if kind == "retire":
            target = live[key]
            if shape == 2:
                # A replace-extent survey: every other live feature as it is, plus a row with an absent key
                # at the target's place so the survey's extent covers it.
                rows = [_row(i, k, c.kind, c.n, c.x, None) for i, (k, c) in enumerate(live.items()) if k != key]
                rows.append(_row(len(rows), "absent", target.kind, target.n, target.x, None))
                await bulk.copy_rows(side.conn, staging, rows)
                await bulk.retire_missing_in_extent(side.conn, staging, key=["code"], changeset_id=cs, valid_to=at)
            else:
                await bulk.copy_rows(side.conn, staging, [_row(0, key, target.kind, target.n, target.x, row_time)])
                await bulk.retire_by_key(side.conn, staging, key=["code"], changeset_id=cs, valid_to=arg_time)
            return
        if kind == "update":  # a delivery carries whole features: the patched one, as merged
            props = {**props, "kind": live[key].kind}
            x = live[key].x
        await bulk.copy_rows(side.conn, staging, [_row(0, key, props["kind"], props["n"], x, row_time)])
        if kind == "insert" and shape == 0:
            await bulk.insert_all(side.conn, staging, changeset_id=cs, valid_from=arg_time)
        else:
            await bulk.upsert_by_key(side.conn, staging, key=["code"], changeset_id=cs, valid_from=arg_time)


def _pick(kind: str, which: int, live: dict[str, Current]) -> str:
    """A key with no live feature for an insert, a live one for an edit (when there are any)."""
    pool = [k for k in KEYS if (k in live) == (kind != "insert")] or list(KEYS)
    return pool[which % len(pool)]


def _applies(kind: str, key: str, live: dict[str, Current], n: int, x: float, new_kind: str) -> bool:
    """Whether an edit means the same on both paths; the rest are skipped on both.

    A new feature needs a key with no live feature (the per-feature path does not match keys,
    a delivery does). An edit needs a live feature, and must change it: a delivery is a snapshot,
    so re-delivering a feature unchanged makes no version, while an explicit edit always does.
    """
    if kind == "insert":
        return key not in live
    if key not in live:
        return False
    cur = live[key]
    if kind == "update":
        return n != cur.n
    if kind == "replace":
        return (n, round(x, 9), new_kind) != (cur.n, round(cur.x, 9), cur.kind)
    return True


async def _snapshot(conn: asyncpg.Connection) -> dict[str, Any]:
    # Compared: everything a version or an audit row says about the city and its history.
    # Left out, because each clone commits at its own instants and numbers its own rows:
    # recorded_at and superseded_at (transaction time), changeset_id and changes.id (serials; the
    # changeset is compared by its note, which names the edit), changes.recorded_at.
    versions = await conn.fetch(
        "SELECT t.fid, t.version, t.valid_from, t.valid_to, t.src_hash, ST_AsEWKT(t.geom) AS geom, "
        "t.code, t.kind, t.n, c.note FROM data.test_sites t JOIN onemap.changesets c ON c.id = t.changeset_id "
        "ORDER BY t.fid, t.version"
    )
    # Per-feature mutations, the bulk path's summary rows expanded through the versions they stand for.
    layer = (await Registry.load(conn)).get("test_sites")
    notes = {r["id"]: r["note"] for r in await conn.fetch("SELECT id, note FROM onemap.changesets")}
    changes = [
        # The set-based path has no merge-patch: a delivery carries the whole merged feature, so
        # what the per-feature path audits as 'update' a delivery audits as 'replace'.
        (notes[ch["changeset_id"]], layer.id, ch["fid"], "replace" if ch["op"] == "update" else ch["op"],
         ch["version_before"], ch["version_after"])
        for ch in await feature_changes(conn, layer=layer)
    ]
    extent = await conn.fetchrow("SELECT temporal_start, temporal_end FROM onemap.layers WHERE id = 'test_sites'")
    return {"versions": [tuple(r) for r in versions], "changes": [tuple(r) for r in changes],
            "extent": tuple(extent)}


async def _heard(sides: Sequence[Side], count: int) -> None:
    for _ in range(300):
        if all(len(s.heard) >= count for s in sides):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} edit notifications, heard {[len(s.heard) for s in sides]}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_strategy, min_size=1, max_size=16))
async def test_both_write_paths_leave_identical_history(sides: tuple[Side, Side], ops: list[Op]) -> None:
    feat, bulk_side = sides
    for side in sides:
        await _reset(side)
    clock = T0
    outcomes: list[tuple[str | None, str | None]] = []
    for i, (kind, which, days, n, new_kind, shape) in enumerate(ops):
        at, x = clock + dt.timedelta(days=days), _x(n)
        clock = max(clock, at)
        live = await _current(feat.conn)
        key = _pick(kind, which, live)
        if not _applies(kind, key, live, n, x, new_kind):
            continue
        props = {"code": key, "kind": new_kind, "n": n}
        errors: list[str | None] = []
        for side in sides:
            cs = await open_changeset(side.conn, actor="pytest", source="test", note=f"edit {i}: {kind} {key}")
            try:
                if side is feat:
                    await _feature_op(side, cs, kind, key, live, at, props, x)
                else:
                    await _bulk_op(side, cs, kind, key, live, at, props, x, shape)
                errors.append(None)
            except LayerError as exc:
                errors.append(type(exc).__name__)
        outcomes.append((errors[0], errors[1]))
        event(f"{kind} shape {shape}: {errors[0] or 'written'}")
        assert errors[0] == errors[1], f"edit {i} ({kind} {key} at {at:%Y-%m-%d}): {errors[0]} vs {errors[1]}"

    assert await _snapshot(feat.conn) == await _snapshot(bulk_side.conn)
    written = sum(1 for a, _ in outcomes if a is None)
    await _heard(sides, written)
    # The set-based path marks its notifications "bulk" so listeners may drop the layer wholesale.
    assert [{k: v for k, v in m.items() if k != "bulk"} for m in bulk_side.heard] == feat.heard
    assert all(m.get("bulk") is True for m in bulk_side.heard)
    await _extent_is_the_tables(feat.conn)


async def _extent_is_the_tables(conn: asyncpg.Connection) -> None:
    """The incremental touch agrees with recomputing the extent from every version."""
    got = await conn.fetchrow("SELECT temporal_start, temporal_end FROM onemap.layers WHERE id = 'test_sites'")
    want = await conn.fetchrow(
        "SELECT min(valid_from) AS lo, CASE WHEN bool_or(valid_to IS NULL) THEN NULL "
        "ELSE max(coalesce(valid_to, valid_from)) END AS hi FROM data.test_sites"
    )
    assert tuple(got) == tuple(want)
    await note_temporal_extent(conn, "test_sites")  # the full-scan repair must find nothing to repair
    assert tuple(await conn.fetchrow(
        "SELECT temporal_start, temporal_end FROM onemap.layers WHERE id = 'test_sites'")) == tuple(got)
