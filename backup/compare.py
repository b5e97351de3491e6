"""Feature-by-feature comparison of a restored database with the live one, as of one moment.

Both sides run the same query with the same instant ``at``: every version recorded (transaction
time, ``recorded_at``) by ``at``, with ``valid_to``/``superseded_at`` as they stood at ``at`` (a
version closed later was still open then), and an md5 of all its other columns. Because nothing
is ever overwritten, the live database can answer "what did you hold at ``at``" exactly, so a
point-in-time restore to ``at`` must produce the same rows, and nothing recorded after ``at``.

``recorded_at`` is ``now()``, the start of the writing transaction, while recovery stops at
commit times: the two agree for every write that did not straddle ``at`` (one that began before
and committed after it is in neither the restore nor, wrongly, the as-of answer — so pick ``at``
between writes, as the drill does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from layers.db import connect
from layers.sql import qualified, quote_ident

Key = tuple[Any, ...]
# Columns whose values change after a version is written: compared as they stood at `at`.
_LATER = ("valid_to", "superseded_at")
_LAYER_TABLES = (
    "SELECT table_name FROM information_schema.columns WHERE table_schema = 'data' "
    "AND column_name = 'superseded_at' ORDER BY table_name"
)
_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
    "ORDER BY ordinal_position"
)


@dataclass(frozen=True, slots=True)
class TableDiff:
    """How one table differs: keys missing from the restore, extra in it, or with other contents.

    Attributes:
        table: ``schema.table``.
        live: Rows the live database says existed at ``at``.
        restored: Rows the restored database holds as of ``at``.
        current: Of ``live``, the features current at ``at`` (versions not closed then); for
            layer tables only, else 0.
        after: Rows in the restored database recorded after ``at`` (a PITR must have none).
    """

    table: str
    live: int
    restored: int
    current: int
    after: int
    missing: list[Key] = field(default_factory=list)
    extra: list[Key] = field(default_factory=list)
    changed: list[Key] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """Whether the restore holds exactly what the live database held at ``at``."""
        return not (self.missing or self.extra or self.changed)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The comparison of every layer table and the change log, at ``at``."""

    at: dt.datetime
    tables: list[TableDiff]

    @property
    def equal(self) -> bool:
        """Whether every table is equal as of ``at``."""
        return all(t.equal for t in self.tables)

    @property
    def recorded_after(self) -> int:
        """Rows in the restore recorded after ``at`` (over every table)."""
        return sum(t.after for t in self.tables)

    def problems(self, *, limit: int = 5) -> list[str]:
        """One line per unequal table, with a few of the keys at fault."""
        return [
            f"{t.table}: {len(t.missing)} missing {t.missing[:limit]}, {len(t.extra)} extra {t.extra[:limit]}, "
            f"{len(t.changed)} changed {t.changed[:limit]}"
            for t in self.tables if not t.equal
        ]


async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> list[str]:
    return [r["column_name"] for r in await conn.fetch(_COLUMNS, schema, table)]


_VERSIONS = (
    "SELECT fid, version, "
    "CASE WHEN superseded_at IS NULL OR superseded_at <= $1 THEN valid_to END AS valid_to_then, "
    "CASE WHEN superseded_at <= $1 THEN superseded_at END AS superseded_then, "
    "md5(ROW({hashed})::text) AS h FROM {table} WHERE recorded_at <= $1"
)


def _version_query(table: str, columns: Sequence[str]) -> str:
    hashed = ", ".join(quote_ident(c) for c in columns if c not in _LATER)
    return _VERSIONS.format(hashed=hashed, table=qualified("data", table))


def _log_query(table: str, where: str) -> str:
    return f"SELECT t.id, md5(ROW(t.*)::text) AS h FROM {table} t {where}"  # noqa: S608 - fixed names


# The change log: changesets and changes carry their transaction time; a case event belongs to the
# case version it was written with.
_LOGS = {
    "onemap.changesets": _log_query("onemap.changesets", "WHERE t.recorded_at <= $1"),
    "onemap.changes": _log_query("onemap.changes", "WHERE t.recorded_at <= $1"),
    "onemap.case_events": _log_query(
        "onemap.case_events",
        "JOIN data.city_cases c ON c.fid = t.case_fid AND c.version = t.version WHERE c.recorded_at <= $1"),
}
_AFTER = {
    "onemap.changesets": "SELECT count(*) FROM onemap.changesets WHERE recorded_at > $1",
    "onemap.changes": "SELECT count(*) FROM onemap.changes WHERE recorded_at > $1",
}


async def _keyed(conn: asyncpg.Connection, sql: str, at: dt.datetime, width: int) -> dict[Key, tuple[Any, ...]]:
    rows = await conn.fetch(sql, at)
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}


def _diff(table: str, live: dict[Key, tuple[Any, ...]], restored: dict[Key, tuple[Any, ...]], *, after: int,
          current: int) -> TableDiff:
    return TableDiff(
        table=table, live=len(live), restored=len(restored), current=current, after=after,
        missing=sorted(live.keys() - restored.keys()), extra=sorted(restored.keys() - live.keys()),
        changed=sorted(k for k in live.keys() & restored.keys() if live[k] != restored[k]),
    )


async def _exists(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def compare(live_url: str, restored_url: str, at: dt.datetime) -> Comparison:
    """Compare every versioned layer table and the change log of the two databases as of ``at``."""
    live = await connect(live_url)
    try:
        restored = await connect(restored_url)
        try:
            return Comparison(at=at, tables=await _compare(live, restored, at))
        finally:
            await restored.close()
    finally:
        await live.close()


async def _compare(live: asyncpg.Connection, restored: asyncpg.Connection, at: dt.datetime) -> list[TableDiff]:
    diffs: list[TableDiff] = []
    for table in [r["table_name"] for r in await live.fetch(_LAYER_TABLES)]:
        sql = _version_query(table, await _columns(live, "data", table))
        mine = await _keyed(live, sql, at, 2)
        if await _exists(restored, qualified("data", table)):
            theirs = await _keyed(restored, sql, at, 2)
            after = await restored.fetchval(
                f"SELECT count(*) FROM {qualified('data', table)} WHERE recorded_at > $1", at)  # noqa: S608
        else:
            theirs, after = {}, 0
        current = sum(1 for v in mine.values() if v[0] is None)
        diffs.append(_diff(f"data.{table}", mine, theirs, after=int(after), current=current))
    for table, sql in _LOGS.items():
        if not await _exists(live, table):
            continue
        theirs = await _keyed(restored, sql, at, 1) if await _exists(restored, table) else {}
        after = await restored.fetchval(_AFTER[table], at) if table in _AFTER else 0
        diffs.append(_diff(table, await _keyed(live, sql, at, 1), theirs, after=int(after or 0), current=0))
    return diffs
