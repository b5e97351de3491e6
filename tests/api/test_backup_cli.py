"""`onemap backup …` as an operator runs it, on the private cluster: setup (twice), run, list, an edit,
restore to a moment into a new folder (compared with the live database), verify, schedule."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from layers.cluster import PrivateCluster
from layers.db import connect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def onemap(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def var() -> Iterator[Path]:
    # Not pytest's tmp_path: pytest resets its root folder to 0700 and the server runs as postgres.
    with tempfile.TemporaryDirectory(prefix="onemap-backup-cli-") as tmp:
        yield Path(tmp)


async def _edit(url: str) -> tuple[int, dt.datetime]:
    """One changeset written straight to the log; returns its id and the server's time after it."""
    conn = await connect(url)
    try:
        cs = await conn.fetchval("INSERT INTO onemap.changesets (actor, source, note) VALUES ('cli', 'test', 'drill') "
                                 "RETURNING id")
        await asyncio.sleep(0.3)
        return int(cs), await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await conn.close()


def test_setup_run_list_restore_verify(var: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEMAP_")}
    env.update(ONEMAP_VAR_DIR=str(var / "var"), ONEMAP_BACKUP_CIPHER_PASS="cli-test-passphrase")
    live = PrivateCluster(var / "var" / "pg")
    restored = PrivateCluster(var / "restored")
    try:
        assert onemap("db", "init", env=env).returncode == 0
        first = onemap("backup", "setup", env=env)
        assert first.returncode == 0, first.stderr
        assert "set archive_mode = on" in first.stdout and "restarted the cluster" in first.stdout
        again = onemap("backup", "setup", env=env)
        assert again.returncode == 0 and "no restart needed" in again.stdout and "set " not in again.stdout
        ran = onemap("backup", "run", "--type", "full", env=env)
        assert ran.returncode == 0, ran.stderr
        assert "repo1 " in ran.stdout and "repo2 " in ran.stdout
        listed = onemap("backup", "list", env=env)
        assert listed.stdout.count(" full ") == 2 and "repo1 WAL archive" in listed.stdout
        first_cs, t = asyncio.run(_edit(live.url()))
        later_cs, _ = asyncio.run(_edit(live.url()))
        back = onemap("backup", "restore", "--to", t.isoformat(), "--target", str(var / "restored"), env=env)
        assert back.returncode == 0, back.stderr
        assert "onemap.changesets" in back.stdout and "DIFFERS" not in back.stdout
        ids = asyncio.run(_ids(restored.url()))
        assert first_cs in ids and later_cs not in ids
        checked = onemap("backup", "verify", env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.rstrip().endswith("verified")
        cron = onemap("backup", "schedule", "--print", env=env)
        assert "backup run --type incr" in cron.stdout
        bad = onemap("backup", "restore", "--to", "2026-12-01 10:00", "--target", str(var / "x"), env=env)
        assert bad.returncode != 0 and "offset" in bad.stderr
    finally:
        restored.destroy()
        onemap("db", "stop", env=env)
        time.sleep(0.1)


async def _ids(url: str) -> set[int]:
    conn = await connect(url)
    try:
        return {r["id"] for r in await conn.fetch("SELECT id FROM onemap.changesets")}
    finally:
        await conn.close()
