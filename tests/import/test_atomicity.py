"""kill -9 at any moment of an import leaves the database exactly as it was (a real process, a real SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from layers.db import connect
from layers.ddl import index_statements
from layers.definitions import builtin_layers
from tests import deliveries

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30_000


async def _snapshot(url: str) -> tuple[object, ...]:
    """Everything an import may touch: the layer's rows, changesets, changes, the registry row."""
    conn = await connect(url)
    try:
        row = await conn.fetchrow(
            """
            SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY fid, version)) FROM data.buildings t) AS rows,
                   (SELECT count(*) FROM data.buildings) AS n,
                   (SELECT count(*) FROM onemap.changesets) AS changesets,
                   (SELECT count(*) FROM onemap.changes) AS changes,
                   (SELECT l::text FROM onemap.layers l WHERE id = 'buildings') AS registry
            """
        )
        return tuple(row)
    finally:
        await conn.close()


async def _indexes(url: str) -> list[str]:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = 'data' AND tablename = 'buildings' "
                                "ORDER BY indexname")
        fks = await conn.fetchval("SELECT count(*) FROM pg_constraint WHERE conrelid = 'data.buildings'::regclass "
                                  "AND contype = 'f'")
        return [*(r["indexdef"] for r in rows), f"foreign keys: {fks}"]
    finally:
        await conn.close()


async def _wait_for_server_rollback(url: str) -> None:
    conn = await connect(url)
    try:
        for _ in range(200):
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'onemap-import'"
            )
            if not busy:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the killed import's server session never ended")
    finally:
        await conn.close()


def _start(url: str, delivery: Path, report: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "import", "buildings", str(delivery), "--database-url", url, "--report-dir",
         str(report), "--progress", "bar", "--valid-from", "2025-01-01"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ},
    )


def _kill_at(proc: subprocess.Popen[str], phase: str, extra_s: float) -> list[str]:
    """SIGKILL ``proc`` ``extra_s`` after it announces ``phase``; returns the phases it announced."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if "phase: " in line:
            seen.append(line.split("phase: ", 1)[1].strip())
            if seen[-1] == phase:
                time.sleep(extra_s)
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=30)
    rest = proc.stderr.read()
    seen += [part.split("\n", 1)[0].strip() for part in rest.split("phase: ")[1:]]
    return seen


@pytest.mark.slow
async def test_kill_9_at_any_moment_leaves_the_database_as_before(fresh_db_url: str, tmp_path: Path) -> None:
    first = deliveries.synthetic_buildings(tmp_path / "survey_2024.gpkg", count=ROWS)
    second = deliveries.synthetic_buildings(tmp_path / "survey_2025.gpkg", count=ROWS + 5000, changed_every=10)
    empty = await _snapshot(fresh_db_url)
    indexes = await _indexes(fresh_db_url)
    # An initial load drops and rebuilds the layer's indexes inside its transaction: kill it mid-merge.
    proc = _start(fresh_db_url, first, tmp_path / "killed-initial")
    seen = await asyncio.to_thread(_kill_at, proc, "merging", 0.1)
    assert proc.returncode == -signal.SIGKILL and "committing" not in seen, seen
    await _wait_for_server_rollback(fresh_db_url)
    assert await _snapshot(fresh_db_url) == empty
    assert await _indexes(fresh_db_url) == indexes  # every index and the foreign key are back
    buildings = next(layer for layer in builtin_layers() if layer.id == "buildings")
    # The DDL's indexes, the primary key's index, and the one foreign key line.
    assert len(indexes) == len(index_statements(buildings)) + 2 and indexes[-1] == "foreign keys: 1"

    setup = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "import", "buildings", str(first),
                                                      "--database-url", fresh_db_url, "--report-dir",
                                                      str(tmp_path / "r0"), "--progress", "none",
                                                      "--valid-from", "2024-01-01"], cwd=ROOT, capture_output=True)
    assert setup.returncode == 0, setup.stdout
    before = await _snapshot(fresh_db_url)
    assert before[1] == ROWS

    ambiguous = []
    for k, (phase, extra) in enumerate([("reading", 0.3), ("reading", 0.8), ("checking", 0.0), ("merging", 0.0),
                                        ("committing", 0.0)]):
        proc = _start(fresh_db_url, second, tmp_path / f"killed{k}")
        seen = await asyncio.to_thread(_kill_at, proc, phase, extra)
        assert proc.returncode == -signal.SIGKILL, (phase, seen)
        await _wait_for_server_rollback(fresh_db_url)
        after = await _snapshot(fresh_db_url)
        if "committing" in seen:
            # Killed around COMMIT itself: all or nothing, and the test below tells which.
            ambiguous.append(after == before)
            assert after == before or after[1] == ROWS + 5000 + ROWS // 10, f"half an import: {after[1]} rows"
            break
        assert after == before, f"killed during {phase} (+{extra}s) after {seen}: the database changed"
    assert len(ambiguous) <= 1

    # The same delivery, left alone, does change the database — so the checks above could fail.
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "import", "buildings", str(second),
                                                     "--database-url", fresh_db_url, "--report-dir",
                                                     str(tmp_path / "done"), "--progress", "none",
                                                     "--valid-from", "2025-01-01"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0
    final = await _snapshot(fresh_db_url)
    assert final != before
    assert final[1] == ROWS + 5000 + ROWS // 10  # 5 000 new buildings, every tenth old one re-versioned
