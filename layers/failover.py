"""The failover drill: kill the primary under load, promote the standby, and account for every write.

Writers insert numbered rows through the same pool the API uses (:func:`layers.db.create_pool`) on a
multi-host ``read-write`` URL, so they reconnect to the promoted standby by themselves; readers
read through a ``prefer-standby`` URL. Every insert the server acknowledged is remembered, and
after the promotion each must be on the new primary. The drill works in its own database
(``onemap_drill``), so it never touches the layers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg

from layers.cluster import PrivateCluster
from layers.db import create_pool
from layers.replication import kill_hard, multi_host_url, promote, wait_replayed
from layers.settings import DatabaseSettings

DRILL_DATABASE = "onemap_drill"
_DRILL_DDL = """
CREATE TABLE IF NOT EXISTS drill_writes (n bigint PRIMARY KEY, at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS drill_rate (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
"""
_DRILL_SETTINGS = DatabaseSettings(pool_min_size=1, pool_max_size=8, statement_timeout_ms=10_000)


@dataclass
class DrillReport:
    """What the drill saw. Times are seconds from the kill."""

    acknowledged: int = 0
    lost: list[int] = field(default_factory=list)
    failed_writes: int = 0
    failed_reads: int = 0
    reads: int = 0
    first_failure_s: float | None = None
    writes_back_s: float | None = None
    promoted_s: float = 0.0

    @property
    def write_outage_s(self) -> float | None:
        """How long writes failed: from the kill to the first acknowledged write after it."""
        return self.writes_back_s


async def prepare(primary: PrivateCluster, standby: PrivateCluster) -> None:
    """Create the drill database and its tables on the primary, and wait until the standby has them."""
    primary.ensure_database(DRILL_DATABASE)
    conn = await asyncpg.connect(primary.url(DRILL_DATABASE))
    try:
        await conn.execute(_DRILL_DDL)
    finally:
        await conn.close()
    await wait_replayed(primary.url(DRILL_DATABASE), standby.url("postgres"))


async def _writer(pool: asyncpg.Pool, numbers: _Counter, report: DrillReport, acked: set[int],
                  state: _Clock, stop: asyncio.Event) -> None:
    while not stop.is_set():
        n = numbers.next()
        sent = time.monotonic()
        try:
            await pool.execute("INSERT INTO drill_writes (n) VALUES ($1)", n)
        except Exception:  # every failure kind counts the same: the write was not acknowledged
            report.failed_writes += 1
            if state.killed_at is not None and report.first_failure_s is None:
                report.first_failure_s = time.monotonic() - state.killed_at
            await asyncio.sleep(0.05)
            continue
        acked.add(n)
        # Back: the first write sent after writes began to fail has been acknowledged (a write sent
        # before the kill may still be acknowledged just after it; it says nothing).
        if (state.killed_at is not None and report.first_failure_s is not None and report.writes_back_s is None
                and sent - state.killed_at > report.first_failure_s):
            report.writes_back_s = time.monotonic() - state.killed_at


async def _reader(pool: asyncpg.Pool, report: DrillReport, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await pool.fetchval("SELECT count(*) FROM drill_writes")
            report.reads += 1
        except Exception:
            report.failed_reads += 1
            await asyncio.sleep(0.05)


class _Counter:
    """Write numbers shared by the writer tasks (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self._n = 0

    def next(self) -> int:
        """The next number (1, 2, …)."""
        self._n += 1
        return self._n


@dataclass
class _Clock:
    killed_at: float | None = None


async def run_drill(primary: PrivateCluster, standby: PrivateCluster, *, writers: int = 4, readers: int = 4,
                    before_kill_s: float = 2.0, promote_after_s: float = 0.5, after_s: float = 3.0) -> DrillReport:
    """Load both servers, SIGKILL the primary, promote the standby ``promote_after_s`` later, check every write.

    ``promote_after_s`` stands for the time a person or Patroni takes to decide the primary is dead.
    """
    await prepare(primary, standby)
    hosts = [("127.0.0.1", primary.port), ("127.0.0.1", standby.port)]
    write_pool = await create_pool(multi_host_url(hosts, DRILL_DATABASE), _DRILL_SETTINGS)
    read_pool = await create_pool(multi_host_url(hosts, DRILL_DATABASE, attrs="prefer-standby"), _DRILL_SETTINGS)
    report, acked, clock, stop = DrillReport(), set[int](), _Clock(), asyncio.Event()
    numbers = _Counter()
    tasks = [asyncio.create_task(_writer(write_pool, numbers, report, acked, clock, stop)) for _ in range(writers)]
    tasks += [asyncio.create_task(_reader(read_pool, report, stop)) for _ in range(readers)]
    try:
        await asyncio.sleep(before_kill_s)
        acked_before = set(acked)
        clock.killed_at = time.monotonic()
        await asyncio.to_thread(kill_hard, primary)
        await asyncio.sleep(promote_after_s)
        await asyncio.to_thread(promote, standby)
        report.promoted_s = time.monotonic() - clock.killed_at
        await asyncio.sleep(after_s)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await write_pool.close()
        await read_pool.close()
    report.acknowledged = len(acked)
    conn = await asyncpg.connect(standby.url(DRILL_DATABASE))
    try:
        present = {r["n"] for r in await conn.fetch("SELECT n FROM drill_writes")}
    finally:
        await conn.close()
    report.lost = sorted(acked - present)
    if not acked_before:
        raise RuntimeError("no write was acknowledged before the kill; the drill proves nothing")
    return report


async def write_rate(url: str, *, seconds: float = 3.0, clients: int = 8) -> float:
    """Single-row committed inserts per second into ``drill_rate`` at ``url`` with ``clients`` at once."""
    pool = await create_pool(url, _DRILL_SETTINGS.model_copy(update={"pool_max_size": clients}))
    done = 0
    deadline = time.monotonic() + seconds

    async def one() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await pool.execute("INSERT INTO drill_rate DEFAULT VALUES")
            done += 1

    try:
        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(clients)))
        return done / (time.monotonic() - started)
    finally:
        await pool.close()
