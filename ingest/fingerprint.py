"""Fingerprints of delivered source rows, so a re-delivery skips what did not change.

Each feature version written by an import keeps the 128-bit BLAKE2 hash of the source row it
came from (geometry bytes and every raw column value, salted with everything that decides how
the row is mapped: profile, CRS decision, --set values, target layer). A later delivery in
upsert mode hashes its rows the same way; a row whose key's current version carries the same
hash would map and validate to exactly what is stored, so it is counted as unchanged without
being mapped, validated, staged or compared in SQL.

Versions written by the API carry no fingerprint, so an edited feature is always compared in
full. Duplicate keys are still caught for skipped rows: every row sharing a key is rejected,
as :func:`ingest.checks.duplicates` does for staged rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from layers.errors import FieldError
from layers.model import Layer
from layers.sql import quote_ident


def salt_of(parts: dict[str, Any]) -> bytes:
    """A salt from everything that decides how a source row becomes a feature."""
    return hashlib.blake2b(orjson.dumps(parts, default=str, option=orjson.OPT_SORT_KEYS),
                           digest_size=16).digest()


def row_hashes(wkb: Sequence[bytes | None], columns: dict[str, list[Any]], salt: bytes) -> list[bytes]:
    """One 16-byte hash per row over its geometry bytes and raw values (columns in name order)."""
    cols = [columns[n] for n in sorted(columns)]
    dumps, blake2b = orjson.dumps, hashlib.blake2b
    rows = zip(*cols, strict=True) if cols else iter([()] * len(wkb))
    return [
        blake2b((geom or b"") + dumps(row, default=str), digest_size=16, key=salt).digest()
        for geom, row in zip(wkb, rows, strict=True)
    ]


@dataclass
class Skipper:
    """Per target layer: the current fingerprints by key, and the keys this delivery has seen."""

    layer: Layer
    key_field: str
    known: dict[str, bytes]
    skipping: bool
    first_seen: dict[str, tuple[int, bool]] = field(default_factory=dict)
    duplicated: set[str] = field(default_factory=set)
    skipped: int = 0
    forced: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    async def load(cls, conn: asyncpg.Connection, *, layer: Layer, key_field: str, skipping: bool) -> Skipper:
        """A skipper for ``layer``; with ``skipping``, loaded with the current fingerprints by key."""
        known: dict[str, bytes] = {}
        if skipping:
            rows = await conn.fetch(
                f"SELECT {quote_ident(key_field)}::text AS k, src_hash FROM {layer.table} "  # noqa: S608
                f"WHERE valid_to IS NULL AND src_hash IS NOT NULL AND {quote_ident(key_field)} IS NOT NULL"
            )
            known = {r["k"]: bytes(r["src_hash"]) for r in rows}
        return cls(layer=layer, key_field=key_field, known=known, skipping=skipping)

    def split(
        self, keys: Sequence[Any], hashes: Sequence[bytes], row_nos: Sequence[int]
    ) -> tuple[list[int], list[tuple[int, int, list[FieldError], str]]]:
        """(indices to map and stage, duplicate rejections as (index or -1, row_no, errors, key)).

        A rejection with index -1 is an earlier, skipped row of this delivery that turned out to
        share its key; an earlier staged row goes to :attr:`forced` for the checks to drop.
        """
        keep: list[int] = []
        rejected: list[tuple[int, int, list[FieldError], str]] = []
        for i, raw in enumerate(keys):
            if raw is None:
                keep.append(i)
                continue
            key = str(raw)
            first = self.first_seen.get(key)
            if first is not None:
                rejected.append((i, row_nos[i], [self._dup(key, first[0])], key))
                if key not in self.duplicated:
                    self.duplicated.add(key)
                    first_row, was_skipped = first
                    if was_skipped:
                        self.skipped -= 1
                        rejected.append((-1, first_row, [self._dup(key, row_nos[i])], key))
                    else:
                        self.forced.append((first_row, key))
                continue
            skip = self.skipping and self.known.get(key) == hashes[i]
            self.first_seen[key] = (row_nos[i], skip)
            if skip:
                self.skipped += 1
            else:
                keep.append(i)
        return keep, rejected

    def _dup(self, key: str, other_row: int) -> FieldError:
        return FieldError(self.key_field, "duplicate",
                          f"{self.key_field} {key!r} appears more than once in the delivery (also row {other_row})")
