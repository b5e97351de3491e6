"""Concurrent Part 4 writes to one feature against a live uvicorn and the real database.

Each writer has its own HTTP connection (warmed up first) and its own thread; a barrier releases
them together, so the requests really race for the feature's row lock in PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx

from layers.db import connect
from layers.registry import Registry
from tests.api.conftest import Seed

WRITERS = 20
URL = "/collections/test_parcels/items"


def _parcel(code: str, n: int) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.95, 28.18]},
        "properties": {"code": code, "n": n},
    }


def _create(server: str, seed: Seed, code: str) -> int:
    r = httpx.post(f"{server}{URL}", json=_parcel(code, 0), headers=seed.auth("editor"), timeout=20)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _race(server: str, send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Run ``send(client, i)`` for ``WRITERS`` threads released at the same instant."""
    barrier = threading.Barrier(WRITERS)

    def one(i: int) -> httpx.Response:
        with httpx.Client(base_url=server, timeout=60) as client:
            assert client.get("/health").status_code == 200  # open the connection before the start
            barrier.wait(timeout=30)
            return send(client, i)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


async def _versions(seed: Seed, fid: int, *columns: str) -> list[asyncpg.Record]:
    conn = await connect(seed.url)
    try:
        table = (await Registry.load(conn)).get("test_parcels").table
        cols = "".join(f", {c}" for c in columns)
        return await conn.fetch(
            f"SELECT version, valid_to IS NULL AS open{cols} FROM {table} WHERE fid = $1 ORDER BY version",
            fid,
        )
    finally:
        await conn.close()


async def test_puts_with_the_same_if_match_one_wins_the_rest_get_412(server: str, seed: Seed) -> None:
    fid = _create(server, seed, "RACE-IFMATCH")
    headers = {**seed.auth("editor"), "If-Match": f'"{fid}.1"'}
    answers = _race(server, lambda c, i: c.put(f"{URL}/{fid}", json=_parcel("RACE-IFMATCH", i + 1), headers=headers))
    statuses = Counter(r.status_code for r in answers)
    assert statuses == Counter({200: 1, 412: WRITERS - 1}), [(r.status_code, r.text[:120]) for r in answers]
    loser = next(r for r in answers if r.status_code == 412)
    assert loser.headers["content-type"] == "application/problem+json"
    assert "version 2, not 1" in loser.json()["detail"]
    winner = next(r for r in answers if r.status_code == 200)
    assert winner.headers["etag"] == f'"{fid}.2"'
    rows = await _versions(seed, fid)
    assert [(r["version"], r["open"]) for r in rows] == [(1, False), (2, True)]


async def test_deletes_with_the_same_if_match_one_retires_the_rest_find_it_gone(server: str, seed: Seed) -> None:
    """Here the feature really is retired (its latest version closed, none newer): 410 is right."""
    fid = _create(server, seed, "RACE-DELETE")
    headers = {**seed.auth("editor"), "If-Match": f'"{fid}.1"'}
    answers = _race(server, lambda c, i: c.delete(f"{URL}/{fid}", headers=headers))
    assert Counter(r.status_code for r in answers) == Counter({204: 1, 410: WRITERS - 1})
    rows = await _versions(seed, fid)
    assert [(r["version"], r["open"]) for r in rows] == [(1, False)]


async def test_unconditional_puts_all_land_in_order(server: str, seed: Seed) -> None:
    fid = _create(server, seed, "RACE-ANY")
    auth = seed.auth("editor")
    answers = _race(server, lambda c, i: c.put(f"{URL}/{fid}", json=_parcel("RACE-ANY", i + 1), headers=auth))
    assert [r.status_code for r in answers] == [200] * WRITERS, [(r.status_code, r.text[:120]) for r in answers]
    assert sorted(r.headers["etag"] for r in answers) == sorted(f'"{fid}.{v}"' for v in range(2, WRITERS + 2))
    # Each answer is the version its own request wrote (an ETag of someone else's would let a client
    # overwrite a version it never saw).
    assert [r.json()["properties"]["n"] for r in answers] == list(range(1, WRITERS + 1))
    rows = await _versions(seed, fid, "n")
    assert [r["version"] for r in rows] == list(range(1, WRITERS + 2))
    assert [r["open"] for r in rows] == [False] * WRITERS + [True]
    assert sorted(r["n"] for r in rows[1:]) == list(range(1, WRITERS + 1))  # every writer's value, none lost


async def test_unconditional_patches_merge_into_the_version_they_replace(server: str, seed: Seed) -> None:
    """Half the patches set ``code``, half set ``n``: each new version changes only its own field.

    A patch merged into the version it read before waiting for the lock would also put back the
    other field as it was, undoing a concurrent writer's change.
    """
    fid = _create(server, seed, "PATCH-0")
    headers = {**seed.auth("editor"), "Content-Type": "application/merge-patch+json"}

    def patch(c: httpx.Client, i: int) -> httpx.Response:
        change = {"code": f"PATCH-{i + 1}"} if i % 2 else {"n": i + 1}
        return c.patch(f"{URL}/{fid}", json={"properties": change}, headers=headers)

    answers = _race(server, patch)
    assert [r.status_code for r in answers] == [200] * WRITERS, [(r.status_code, r.text[:120]) for r in answers]
    rows = await _versions(seed, fid, "code", "n")
    assert len(rows) == WRITERS + 1
    for before, after in itertools.pairwise(rows):
        changed = {f for f in ("code", "n") if before[f] != after[f]}
        assert len(changed) == 1, f"version {after['version']} changed {changed} (from {dict(before)} to {dict(after)})"
