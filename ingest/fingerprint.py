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

HASH_BYTES = 16


def salt_of(parts: dict[str, Any]) -> bytes:
    """A salt from everything that decides how a source row becomes a feature."""
    return hashlib.blake2b(orjson.dumps(parts, default=str, option=orjson.OPT_SORT_KEYS),
                           digest_size=16).digest()


def row_hashes(wkb: Sequence[bytes | None], columns: dict[str, list[Any]], salt: bytes) -> list[bytes]:
    """One 16-byte hash per row over its geometry bytes and raw values (columns in name order)."""
    cols = [columns[n] for n in sorted(columns)]
    dumps = orjson.dumps
    rows = zip(*cols, strict=True) if cols else iter([()] * len(wkb))
    # A keyed BLAKE2 hashes its key as a whole first block: copying one keyed state per row instead of
    # keying a new one halves the cost (1.2 -> 0.5 s of the client per million rows), same digests.
    keyed = hashlib.blake2b(digest_size=HASH_BYTES, key=salt)
    out: list[bytes] = []
    for geom, row in zip(wkb, rows, strict=True):
        h = keyed.copy()
        h.update(geom or b"")
        h.update(dumps(row, default=str))
        out.append(h.digest())
    return out


@dataclass
class Skipper:
    """Per target layer: the current fingerprints, and the keys this delivery has seen.

    ``known`` holds the fingerprints of the layer's current versions, not keyed: a delivered row
    whose hash is among them is the very source row of some current version, and so (the salt
    covering the mapping) of the current version of its own key. That turns the per-row dictionary
    walk into set lookups; duplicate keys are found with set operations, and only a batch that has
    one takes the row-by-row path that names both rows.
    """

    layer: Layer
    key_field: str
    known: set[bytes]
    skipping: bool
    seen: dict[str, int] = field(default_factory=dict)  # key → staged row_no of its first row
    skipped_keys: set[str] = field(default_factory=set)  # keys whose first row was skipped
    duplicated: set[str] = field(default_factory=set)
    skipped: int = 0
    forced: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    async def load(cls, conn: asyncpg.Connection, *, layer: Layer, key_field: str, skipping: bool) -> Skipper:
        """A skipper for ``layer``; with ``skipping``, loaded with the current fingerprints."""
        known: set[bytes] = set()
        if skipping:
            # One bytea of 16-byte hashes: a million rows arrive as one 16 MB value, not a million records.
            blob = await conn.fetchval(
                f"SELECT string_agg(src_hash, ''::bytea) FROM {layer.table} "  # noqa: S608
                f"WHERE valid_to IS NULL AND octet_length(src_hash) = {HASH_BYTES} "
                f"AND {quote_ident(key_field)} IS NOT NULL"
            )
            if blob:
                known = {blob[i : i + HASH_BYTES] for i in range(0, len(blob), HASH_BYTES)}
        return cls(layer=layer, key_field=key_field, known=known, skipping=skipping)

    def split(
        self, keys: Sequence[Any], hashes: Sequence[bytes], row_nos: Sequence[int]
    ) -> tuple[list[int], list[tuple[int, int, list[FieldError], str]]]:
        """(indices to map and stage, duplicate rejections as (index or -1, row_no, errors, key)).

        A rejection with index -1 is an earlier, skipped row of this delivery that turned out to
        share its key; an earlier staged row goes to :attr:`forced` for the checks to drop.
        """
        texts: list[str | None] = [k if type(k) is str or k is None else str(k) for k in keys]
        present: list[str] = [k for k in texts if k is not None] if None in texts else texts  # type: ignore[assignment]
        if len(set(present)) < len(present) or not self.seen.keys().isdisjoint(present):
            return self._split_rows(texts, hashes, row_nos)
        skip = [h in self.known for h in hashes] if self.skipping and self.known else [False] * len(texts)
        keep = [i for i, (k, s) in enumerate(zip(texts, skip, strict=True)) if k is None or not s]
        if present is texts:  # no empty key: the whole batch at C speed
            self.seen.update(zip(present, row_nos, strict=True))
        else:
            self.seen.update((k, r) for k, r in zip(texts, row_nos, strict=True) if k is not None)
        skipped = len(texts) - len(keep)
        if skipped:
            self.skipped += skipped
            self.skipped_keys.update(k for k, s in zip(texts, skip, strict=True) if s and k is not None)
        return keep, []

    def _split_rows(
        self, keys: list[str | None], hashes: Sequence[bytes], row_nos: Sequence[int]
    ) -> tuple[list[int], list[tuple[int, int, list[FieldError], str]]]:
        """:meth:`split` row by row, for a batch where some key is met a second time."""
        keep: list[int] = []
        rejected: list[tuple[int, int, list[FieldError], str]] = []
        for i, key in enumerate(keys):
            if key is None:
                keep.append(i)
                continue
            first_row = self.seen.get(key)
            if first_row is not None:
                rejected.append((i, row_nos[i], [self._dup(key, first_row)], key))
                if key not in self.duplicated:
                    self.duplicated.add(key)
                    if key in self.skipped_keys:
                        self.skipped -= 1
                        rejected.append((-1, first_row, [self._dup(key, row_nos[i])], key))
                    else:
                        self.forced.append((first_row, key))
                continue
            self.seen[key] = row_nos[i]
            if self.skipping and hashes[i] in self.known:
                self.skipped += 1
                self.skipped_keys.add(key)
            else:
                keep.append(i)
        return keep, rejected

    def _dup(self, key: str, other_row: int) -> FieldError:
        return FieldError(self.key_field, "duplicate",
                          f"{self.key_field} {key!r} appears more than once in the delivery (also row {other_row})")
