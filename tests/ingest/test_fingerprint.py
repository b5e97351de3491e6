"""Source-row fingerprints: a stable digest, and a set-based split equal to the row-by-row rule."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.fingerprint import Skipper, row_hashes, salt_of


def _reference(
    batches: list[list[tuple[Any, bytes]]], known: dict[str, bytes]
) -> tuple[list[list[int]], list[Any], int]:
    """The rule as it was written first: one dictionary walk per row."""
    first_seen: dict[str, tuple[int, bool]] = {}
    duplicated: set[str] = set()
    skipped, keeps, rejected, row = 0, [], [], 0
    for batch in batches:
        keep = []
        for i, (raw, h) in enumerate(batch):
            row_no = row + i
            if raw is None:
                keep.append(i)
                continue
            key = str(raw)
            first = first_seen.get(key)
            if first is not None:
                rejected.append((i, row_no, key, first[0]))
                if key not in duplicated:
                    duplicated.add(key)
                    if first[1]:
                        skipped -= 1
                        rejected.append((-1, first[0], key, row_no))
                continue
            skip = known.get(key) == h
            first_seen[key] = (row_no, skip)
            if skip:
                skipped += 1
            else:
                keep.append(i)
        keeps.append(keep)
        row += len(batch)
    return keeps, rejected, skipped


@settings(max_examples=200, deadline=None)
@given(
    keys=st.lists(st.one_of(st.none(), st.integers(0, 30), st.sampled_from(["a", "b", "c", "d"])), max_size=60),
    changed=st.sets(st.integers(0, 30)),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=8),
)
def test_set_split_equals_the_row_by_row_rule(keys: list[Any], changed: set[int], sizes: list[int]) -> None:
    known = {str(k): f"h{k}".encode() for k in [*range(31), "a", "b", "c", "d"]}
    rows = [(k, (b"new" if k in changed else known[str(k)]) if k is not None else b"x") for k in keys]
    batches, at = [], 0
    for size in sizes * 10:
        if at >= len(rows):
            break
        batches.append(rows[at : at + size])
        at += size
    skipper = Skipper(layer=None, key_field="code", known=set(known.values()), skipping=True)  # type: ignore[arg-type]
    keeps, rejected, row = [], [], 0
    for batch in batches:
        keep, rej = skipper.split([k for k, _ in batch], [h for _, h in batch], list(range(row, row + len(batch))))
        keeps.append(keep)
        rejected += [(i, row_no, key, int(errors[0].message.rsplit("row ", 1)[1].rstrip(")")))
                     for i, row_no, errors, key in rej]
        row += len(batch)
    want_keeps, want_rejected, want_skipped = _reference(batches, known)
    assert keeps == want_keeps
    assert rejected == want_rejected
    assert skipper.skipped == want_skipped


def test_a_large_clean_batch_takes_the_set_path_and_remembers_every_key() -> None:
    keys = [f"CS{i:07d}" for i in range(20_000)]
    hashes = [random.randbytes(16) for _ in keys]
    skipper = Skipper(layer=None, key_field="source_id", known=set(hashes[::2]), skipping=True)  # type: ignore[arg-type]
    keep, rejected = skipper.split(keys, hashes, list(range(20_000)))
    assert keep == list(range(1, 20_000, 2)) and rejected == [] and skipper.skipped == 10_000
    # A key of the first batch met again is a duplicate, and its first row (skipped) is rejected too.
    keep, rejected = skipper.split(["CS0000000"], [b"other"], [20_000])
    assert keep == [] and [(r[0], r[1]) for r in rejected] == [(0, 20_000), (-1, 0)] and skipper.skipped == 9_999


def test_row_hashes_are_the_documented_keyed_blake2_of_each_source_row() -> None:
    """Re-deliveries compare against hashes stored by earlier imports, so the digest must never drift:
    BLAKE2b-128 keyed with the salt, over the geometry bytes then the raw values (columns in name order)
    as orjson, each row on its own."""
    salt = salt_of({"profile": "buildings", "crs": "EPSG:4490"})
    wkb = [b"\x01\x03\x00\x00\x00geom-a", None, b"\x01\x03\x00\x00\x00geom-c"]
    columns = {"name": ["甲", None, "丙"], "floors": [3, 4, None], "built": [dt.date(2001, 5, 1), None, None]}
    got = row_hashes(wkb, columns, salt)
    for i, geom in enumerate(wkb):
        row = (columns["built"][i], columns["floors"][i], columns["name"][i])
        want = hashlib.blake2b((geom or b"") + orjson.dumps(row, default=str), digest_size=16, key=salt).digest()
        assert got[i] == want
    assert len(set(got)) == 3 and row_hashes(wkb, columns, salt_of({"profile": "other"})) != got
