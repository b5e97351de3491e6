"""A real primary and hot standby (throwaway clusters): streaming, read-only standby, failover drill."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from layers.cluster import PrivateCluster
from layers.failover import run_drill
from layers.replication import (
    Lsn,
    create_standby,
    current_lsn,
    enable_replication,
    replay_lsn,
    set_synchronous,
    standbys,
)

pytestmark = pytest.mark.slow


def _pair(root: Path, *, synchronous: bool = False) -> tuple[PrivateCluster, PrivateCluster]:
    primary = PrivateCluster(root / "primary", throwaway=True)
    primary.init()
    enable_replication(primary)
    primary.start()
    primary.ensure_database()
    standby = create_standby(primary, root / "standby")
    if synchronous:  # only once the standby is there: until then every commit would wait for it
        set_synchronous(primary, True)
    return primary, standby


@pytest.fixture
def tmp_root() -> Iterator[Path]:
    """Not tmp_path: pytest runs of other checkouts on this machine prune /tmp/pytest-of-<user> under us."""
    with tempfile.TemporaryDirectory(prefix="onemap-replication-") as tmp:
        yield Path(tmp)


@pytest.fixture
def pair(tmp_root: Path) -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    primary, standby = _pair(tmp_root)
    yield primary, standby
    standby.destroy()
    primary.destroy()


def test_lsn_round_trips() -> None:
    assert str(Lsn.parse("16/B374D848")) == "16/B374D848"
    assert Lsn.parse("1/0").value == 1 << 32
    with pytest.raises(ValueError):
        Lsn.parse("nonsense")


async def test_standby_streams_and_refuses_writes(pair: tuple[PrivateCluster, PrivateCluster]) -> None:
    primary, standby = pair
    p = await asyncpg.connect(primary.url())
    s = await asyncpg.connect(standby.url())
    try:
        await p.execute("CREATE TABLE replicated (i int)")
        await p.execute("INSERT INTO replicated SELECT generate_series(1, 100)")
        target = await current_lsn(p)
        for _ in range(200):
            replayed = await replay_lsn(s)
            assert replayed is not None
            if replayed.value >= target.value:
                break
            await asyncio.sleep(0.02)
        assert await s.fetchval("SELECT count(*) FROM replicated") == 100
        assert await replay_lsn(p) is None  # a primary replays nothing
        seen = await standbys(p)
        assert [row["application_name"] for row in seen] == ["standby1"]
        assert seen[0]["state"] == "streaming"
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await s.execute("INSERT INTO replicated VALUES (0)")
    finally:
        await p.close()
        await s.close()


async def test_failover_drill_loses_nothing_with_a_synchronous_standby(tmp_root: Path) -> None:
    primary, standby = _pair(tmp_root, synchronous=True)
    try:
        async with asyncio.timeout(90):
            report = await run_drill(primary, standby, before_kill_s=1.5, promote_after_s=0.3, after_s=2.0)
    finally:
        standby.destroy()
        primary.destroy()
    assert report.acknowledged > 20
    assert report.lost == []  # every write acknowledged before the kill is on the new primary
    assert report.failed_writes > 0  # the kill was felt...
    assert report.write_outage_s is not None and report.write_outage_s < 15  # ...and writes came back by themselves
    assert report.reads > 0


async def test_failover_drill_asynchronous_standby_reconnects(pair: tuple[PrivateCluster, PrivateCluster]) -> None:
    primary, standby = pair
    async with asyncio.timeout(90):
            report = await run_drill(primary, standby, before_kill_s=1.5, promote_after_s=0.3, after_s=2.0)
    # Without a synchronous standby the last commits may not have reached it: counted, not asserted away.
    assert len(report.lost) <= report.acknowledged
    assert report.write_outage_s is not None and report.write_outage_s >= 0.3  # not before the promotion was asked for
    async with asyncio.timeout(5):
        conn = await asyncpg.connect(standby.url())
        try:
            assert await conn.fetchval("SELECT pg_is_in_recovery()") is False
        finally:
            await conn.close()
