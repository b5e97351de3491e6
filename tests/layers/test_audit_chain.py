"""The audit log's storage: hash chain, append-only triggers, purge checkpoints, the batching
queue's loss policy, sign-in backoff, key rotation and the password policy — on a real PostGIS."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from layers.audit import AuditEvent, AuditQuery, append, purge_before, search_events, verify_chain
from layers.audit_queue import AuditQueue
from layers.credentials import rotate_key
from layers.db import connect, create_pool
from layers.passwords import password_problem
from layers.principals import LockoutPolicy, create_principal, issue_api_key, principal_for_key, record_failed_sign_in
from layers.settings import DatabaseSettings

PROJECT = Path(__file__).resolve().parents[2]


def events(n: int, *, kind: str = "read.items", at: dt.datetime | None = None) -> list[AuditEvent]:
    when = at or dt.datetime.now(dt.UTC)
    return [AuditEvent(kind=kind, actor=f"user{i % 3}", layer="power_facilities", area=f"bbox:{i},0,1,1",
                       features=i, status=200, at=when + dt.timedelta(microseconds=i),
                       detail={"n": i, "text": "中文 'quoted' \\ back"}) for i in range(n)]


async def test_chain_verifies_and_refuses_update_delete_truncate(committed_conn: asyncpg.Connection) -> None:
    conn = committed_conn
    await append(conn, events(5))
    report = await verify_chain(conn)
    assert report.ok and report.rows == 5 and (report.first_seq, report.last_seq) == (1, 5)
    for statement in ("UPDATE onemap.audit_log SET features = 99 WHERE seq = 2",
                      "DELETE FROM onemap.audit_log WHERE seq = 2",
                      "TRUNCATE onemap.audit_log"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    assert await conn.fetchval("SELECT features FROM onemap.audit_log WHERE seq = 2") == 1


async def test_superuser_edit_is_found_by_verify_and_the_cli_exits_non_zero(fresh_db_url: str) -> None:
    conn = await connect(fresh_db_url)
    try:
        await append(conn, events(6))
        # A superuser can switch triggers off for the session; the chain still tells.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE onemap.audit_log SET features = 0 WHERE seq = 4")
        await conn.execute("SET session_replication_role = DEFAULT")
        report = await verify_chain(conn)
    finally:
        await conn.close()
    assert not report.ok and report.broken_seq == 4 and "edited" in (report.reason or "")
    env = {**os.environ, "ONEMAP_DATABASE_URL": fresh_db_url, "ONEMAP_ENV": "test"}
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "api.cli", "audit", "verify"], env=env,
                                  cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN at row 4" in run.stderr


async def test_deleting_the_newest_row_as_superuser_is_found(committed_conn: asyncpg.Connection) -> None:
    await append(committed_conn, events(3))
    await committed_conn.execute("SET session_replication_role = replica")
    await committed_conn.execute("DELETE FROM onemap.audit_log WHERE seq = 3")
    await committed_conn.execute("SET session_replication_role = DEFAULT")
    report = await verify_chain(committed_conn)
    assert not report.ok and report.broken_seq == 3 and "missing" in (report.reason or "")


async def test_concurrent_writers_make_one_unbroken_chain(fresh_db_url: str) -> None:
    pool = await create_pool(fresh_db_url, DatabaseSettings(database_url=fresh_db_url))
    try:
        async def writer(n: int) -> None:
            for _ in range(10):
                async with pool.acquire() as conn:
                    await append(conn, events(5, kind=f"read.w{n}"))

        await asyncio.gather(*(writer(n) for n in range(4)))
        async with pool.acquire() as conn:
            report = await verify_chain(conn)
            seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM onemap.audit_log ORDER BY seq")]
    finally:
        await pool.close()
    assert report.ok, report
    assert seqs == list(range(1, 201))


async def test_purge_keeps_the_rest_verifiable_behind_a_checkpoint(committed_conn: asyncpg.Connection) -> None:
    conn = committed_conn
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    await append(conn, events(4, at=old))
    await append(conn, events(3))
    result = await purge_before(conn, before=dt.datetime.now(dt.UTC) - dt.timedelta(days=180), actor="cli:test")
    assert (result.rows, result.purged_through) == (4, 4)
    report = await verify_chain(conn)
    assert report.ok and report.first_seq == 5 and report.rows == 4  # 3 kept + the purge's own event
    kinds = [r["kind"] for r in await search_events(conn, AuditQuery(kind="audit."))]
    assert kinds == ["audit.purge"]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM onemap.audit_log WHERE seq = 5")  # not covered by a checkpoint
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM onemap.audit_checkpoints")


async def test_search_filters(committed_conn: asyncpg.Connection) -> None:
    await append(committed_conn, events(6))
    await append(committed_conn, [AuditEvent(kind="auth.sign_in_failed", actor="user1", status=401)])
    by_user = await search_events(committed_conn, AuditQuery(actor="user1"))
    assert [r["seq"] for r in by_user] == [7, 5, 2]
    reads = await search_events(committed_conn, AuditQuery(actor="user1", kind="read.", layer="power_facilities"))
    assert [r["seq"] for r in reads] == [5, 2] and reads[0]["detail"]["n"] == 4
    future = await search_events(committed_conn, AuditQuery(since=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    assert future == []


async def test_queue_drops_new_events_when_full_and_records_the_gap(fresh_db_url: str) -> None:
    pool = await create_pool(fresh_db_url, DatabaseSettings(database_url=fresh_db_url))
    try:
        queue = AuditQueue(pool, buffer_rows=100, batch_rows=1000)
        for event in events(130):
            queue.put(event)
        assert queue.pending == 100 and queue.dropped == 30
        assert await queue.flush() == 101
        async with pool.acquire() as conn:
            gap = await search_events(conn, AuditQuery(kind="audit.dropped"))
            kept = await conn.fetchval("SELECT max(features) FROM onemap.audit_log WHERE kind = 'read.items'")
            assert (await verify_chain(conn)).ok
    finally:
        await pool.close()
    assert len(gap) == 1 and gap[0]["detail"]["dropped"] == 30 and gap[0]["seq"] == 1
    assert kept == 99  # the oldest 100 were kept, the newest 30 dropped


async def test_queue_keeps_events_while_the_database_is_unreachable(fresh_db_url: str) -> None:
    settings = DatabaseSettings(database_url=fresh_db_url)
    pool = await create_pool(fresh_db_url, settings)
    queue = AuditQueue(pool, buffer_rows=100)
    for event in events(5):
        queue.put(event)
    await pool.close()
    assert await queue.flush() == 0 and queue.pending == 5  # kept for the next try
    queue.pool = await create_pool(fresh_db_url, settings)
    try:
        assert await queue.flush() == 5 and queue.pending == 0
        async with queue.pool.acquire() as conn:
            assert (await verify_chain(conn)).rows == 5
    finally:
        await queue.pool.close()


async def test_lockout_backoff_doubles(db: asyncpg.Connection) -> None:
    policy = LockoutPolicy(failures=2, window=dt.timedelta(minutes=15), lock=dt.timedelta(minutes=1))
    lengths = []
    for _ in range(3):
        assert await record_failed_sign_in(db, "mallory", policy=policy) is None
        until = await record_failed_sign_in(db, "mallory", policy=policy)
        assert until is not None
        now = await db.fetchval("SELECT now()")
        lengths.append(round((until - now).total_seconds() / 60))
        await db.execute("UPDATE onemap.sign_in_failures SET locked_until = now() - interval '1 second'")
    assert lengths == [1, 2, 4]


async def test_rotated_key_works_for_the_grace_period_only(db: asyncpg.Connection) -> None:
    pid = await create_principal(db, name="traffic", kind="system", roles=["viewer"])
    old = await issue_api_key(db, principal_id=pid, label="signals")
    rotation = await rotate_key(db, prefix=old.split("_")[1], grace=dt.timedelta(hours=1))
    assert rotation.principal == "traffic" and rotation.new_key != old
    assert await principal_for_key(db, old) is not None and await principal_for_key(db, rotation.new_key) is not None
    await db.execute("UPDATE onemap.api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1",
                     old.split("_")[1])  # the grace period is over
    assert await principal_for_key(db, old) is None
    assert await principal_for_key(db, rotation.new_key) is not None


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1!", "at least 12"),
        ("zhang.san-is-great", "user name"),
        ("my zhang secret pass", "user name"),
        ("woaini1314", "at least 12"),
        ("Password123456!", "common"),
        ("qwertyuiop2024", "common"),
        ("aaaaaaaaaaaaaaaa", "repeat"),
        ("lantern orchard basalt 7", None),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    found = password_problem(password, name="zhang.san")
    assert (found is None) if problem is None else (problem in (found or ""))
