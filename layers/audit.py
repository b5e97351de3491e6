"""The access audit log: write events, search them, verify the hash chain, purge by retention.

Rows live in ``onemap.audit_log`` (migration 0005). The database numbers and chains each row in a
trigger, so every writer — the API's batching queue (:mod:`layers.audit_queue`), the command line,
a DBA's INSERT — lands in one verifiable order. :func:`verify_chain` recomputes the chain here, in
Python, from the columns; an edit that bypassed the append-only triggers shows as the first row
whose hash no longer matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

ZERO_HASH = bytes(32)
# The same expression as the trigger's (migration 0005); verify must not trust the database's copy.
CANONICAL = """jsonb_build_object(
  'seq', r.seq, 'at', (extract(epoch FROM r.at) * 1000000)::bigint, 'kind', r.kind,
  'actor', r.actor, 'credential', r.credential, 'layer', r.layer, 'area', r.area,
  'features', r.features, 'status', r.status, 'path', r.path, 'client', r.client,
  'detail', r.detail)::text"""
COLUMNS = ("at", "kind", "actor", "credential", "layer", "area", "features", "status", "path", "client", "detail")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing worth an auditor's attention.

    Attributes:
        kind: ``read.items``, ``read.item``, ``read.versions``, ``read.tile``, ``read.map``,
            ``read.search``, ``export``, ``auth.sign_in``, ``auth.sign_in_failed``, ``auth.locked``,
            ``auth.sign_out``, ``auth.key_used``, ``auth.refused``, ``admin.*``, ``layer.registered``,
            ``audit.purge``, ``audit.dropped``.
        actor: Who: the principal's name, ``anonymous``, or ``cli:<os user>``.
        at: When it happened (not when it was written; the queue writes up to a second later).
        credential: How they proved it: ``key:<prefix>``, ``jwt:<jti>``, ``basic:password`` …
        layer: The layer read or refused, if any.
        area: What area: ``bbox:w,s,e,n`` (the request's CRS), ``tile:<tms>/<z>/<y>/<x>``, ``fid:<n>``.
        features: How many features the answer held (None where unknown, e.g. raster tiles).
        status: The HTTP status answered.
        path: The request path (no query string: filters may hold values worth keeping out of logs).
        client: The client address.
        detail: Anything else (JSON object).
    """

    kind: str
    actor: str
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    credential: str | None = None
    layer: str | None = None
    area: str | None = None
    features: int | None = None
    status: int | None = None
    path: str | None = None
    client: str | None = None
    detail: dict[str, Any] | None = None

    def row(self) -> tuple[Any, ...]:
        """The values in :data:`COLUMNS` order (the pool's jsonb codec encodes ``detail``)."""
        return (self.at, self.kind, self.actor, self.credential, self.layer, self.area, self.features,
                self.status, self.path, self.client, self.detail)


# The columns in COLUMNS order, unnested from one array each, kept in the order given.
INSERT_SQL = """
INSERT INTO onemap.audit_log (at, kind, actor, credential, layer, area, features, status, path, client, detail)
SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10
FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
            $9::text[], $10::text[], $11::jsonb[]) WITH ORDINALITY AS u(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, n)
ORDER BY n
"""
VERIFY_SQL = (  # CANONICAL is a constant of this module: nothing from outside reaches the text
    f"SELECT r.seq, r.prev_hash, r.hash, {CANONICAL} AS canon FROM onemap.audit_log r ORDER BY r.seq"  # noqa: S608
)



async def append(conn: asyncpg.Connection, events: Sequence[AuditEvent]) -> None:
    """Append events in one statement (the trigger numbers and chains them, in this order)."""
    if not events:
        return
    cols = list(zip(*[e.row() for e in events], strict=True))
    await conn.execute(INSERT_SQL, *[list(c) for c in cols])


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of :func:`search_events`; every one is optional.

    Attributes:
        actor: Exact principal name (``cli:`` names included).
        layer: Exact layer id.
        kind: A kind, or a prefix ending in ``.`` (``read.``, ``auth.``).
        since: Events at or after this instant.
        until: Events before this instant.
        limit: At most this many, newest first.
    """

    actor: str | None = None
    layer: str | None = None
    kind: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 200


async def search_events(conn: asyncpg.Connection, query: AuditQuery) -> list[dict[str, Any]]:
    """Events matching ``query``, newest first (plain dicts, ``detail`` decoded, hashes in hex)."""
    kind_exact = query.kind if query.kind and not query.kind.endswith(".") else None
    kind_prefix = query.kind if query.kind and query.kind.endswith(".") else None
    rows = await conn.fetch(
        """
        SELECT seq, at, kind, actor, credential, layer, area, features, status, path, client,
               detail::text AS detail, encode(hash, 'hex') AS hash
        FROM onemap.audit_log
        WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR layer = $2)
          AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR starts_with(kind, $4))
          AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
        ORDER BY seq DESC LIMIT $7
        """,
        query.actor, query.layer, kind_exact, kind_prefix, query.since, query.until, query.limit,
    )
    out = []
    for r in rows:
        item = dict(r)
        item["detail"] = orjson.loads(r["detail"]) if r["detail"] is not None else None
        out.append(item)
    return out


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify_chain` found.

    Attributes:
        rows: Rows checked.
        first_seq: The first row still kept (after purges), or None for an empty log.
        last_seq: The last row checked.
        head_hash: The newest hash, hex: write it down elsewhere to anchor the chain.
        broken_seq: The first row whose hash or link does not hold, or None when all hold.
        reason: Why that row is broken.
    """

    rows: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain holds."""
        return self.broken_seq is None


def link_hash(prev_hash: bytes, canonical: str) -> bytes:
    """A row's hash: SHA-256 over the previous row's hash and the row's canonical text."""
    return hashlib.sha256(prev_hash + canonical.encode()).digest()


async def verify_chain(conn: asyncpg.Connection, *, batch: int = 5000) -> ChainReport:
    """Recompute every kept row's hash and link, from the last retention checkpoint on."""
    checkpoint = await conn.fetchrow(
        "SELECT purged_through, last_hash FROM onemap.audit_checkpoints ORDER BY id DESC LIMIT 1")
    expect_seq = (checkpoint["purged_through"] if checkpoint else 0) + 1
    prev = bytes(checkpoint["last_hash"]) if checkpoint else ZERO_HASH
    first: int | None = None
    count = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow("SELECT seq, hash FROM onemap.audit_head")
        async for r in conn.cursor(
            VERIFY_SQL, prefetch=batch,
        ):
            first = r["seq"] if first is None else first
            count += 1
            broken = _check_row(r, expect_seq, prev)
            if broken:
                return ChainReport(count, first, r["seq"], prev.hex(), r["seq"], broken)
            prev, expect_seq = bytes(r["hash"]), r["seq"] + 1
    last = expect_seq - 1
    if head is not None and (head["seq"] != last or bytes(head["hash"]) != prev):
        return ChainReport(count, first, last, prev.hex(), last + 1,
                           f"the head records row {head['seq']}; rows after {last} are missing")
    return ChainReport(count, first, last if count else None, prev.hex())


def _check_row(r: asyncpg.Record, expect_seq: int, prev: bytes) -> str | None:
    if r["seq"] != expect_seq:
        return f"row {expect_seq} is missing (next kept row is {r['seq']})"
    if bytes(r["prev_hash"]) != prev:
        return "its previous-hash does not match the row before it"
    if link_hash(prev, r["canon"]) != bytes(r["hash"]):
        return "its content does not match its hash (the row was edited)"
    return None


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What :func:`purge_before` removed: rows, and the checkpoint's last sequence number."""

    rows: int
    purged_through: int | None


async def purge_before(conn: asyncpg.Connection, *, before: dt.datetime, actor: str) -> PurgeResult:
    """Delete rows older than ``before`` behind a checkpoint, so the rest still verifies.

    Only a prefix of the chain goes (rows up to the last one older than ``before``); the
    checkpoint records that row's hash, which the first kept row links to. The purge is itself
    an audit event.
    """
    async with conn.transaction():
        last = await conn.fetchrow(
            "SELECT seq, hash FROM onemap.audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1", before)
        if last is None:
            return PurgeResult(0, None)
        first = await conn.fetchval("SELECT min(seq) FROM onemap.audit_log")
        await conn.execute(
            "INSERT INTO onemap.audit_checkpoints (purged_through, last_hash, purged_rows, before, actor) "
            "VALUES ($1, $2, $3, $4, $5)",
            last["seq"], last["hash"], last["seq"] - first + 1, before, actor,
        )
        done = await conn.execute("DELETE FROM onemap.audit_log WHERE seq <= $1", last["seq"])
        rows = int(str(done).split()[-1])
        await append(conn, [AuditEvent(kind="audit.purge", actor=actor,
                                       detail={"before": before.isoformat(), "rows": rows,
                                               "purged_through": last["seq"]})])
    return PurgeResult(rows, last["seq"])
