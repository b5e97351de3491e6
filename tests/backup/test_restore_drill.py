"""The restore drill (issue 14 §3): edits, an import and case actions; a backup; more changes; a time T;
more changes; restore to T. The restore must hold, feature by feature, what the live database says it
held at T (transaction time), and nothing recorded after T."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from shapely.geometry import Polygon

from backup.compare import compare
from backup.restore import restore
from backup.runs import list_backups, run_backup
from backup.verify import verify
from cases.access import Scope
from cases.reports import ReportIn, file_report
from cases.workflow import ActionIn, act
from layers.db import connect
from layers.migrate import migrate
from layers.principals import Principal
from layers.reads import list_features
from layers.registry import Registry
from layers.temporal import AsOf, Current
from layers.versioning import (
    FeatureIn,
    in_own_transaction,
    insert_feature,
    open_changeset,
    retire_feature,
    update_feature,
)
from tests import deliveries
from tests.backup.archive import Archived
from tests.cases.city import seed_city

pytestmark = pytest.mark.slow
OPERATOR = Principal("op", frozenset({"operator"}), kind="user")
ALL = Scope(all=True)


def _square(i: int) -> Polygon:
    x, y = 112.95 + i * 0.001, 28.20
    return Polygon([(x, y), (x + 0.0004, y), (x + 0.0004, y + 0.0004), (x, y + 0.0004)])


async def _edit(conn: asyncpg.Connection, note: str, *, new: int = 0, update: list[int] = (),  # type: ignore[assignment]
                retire: list[int] = ()) -> list[int]:  # type: ignore[assignment]
    """Insert ``new`` buildings, raise the height of ``update``, retire ``retire``: one changeset."""
    layer = (await Registry.load(conn)).get("buildings")

    async def work(c: asyncpg.Connection) -> list[int]:
        cs = await open_changeset(c, actor="drill", source="test", note=note)
        fids = [(await insert_feature(c, layer=layer, changeset_id=cs, feature=FeatureIn(
            _square(i), {"use": "residential", "name": f"示例数据 {note} {i}", "height_m": 10.0 + i}))).fid
            for i in range(new)]
        for fid in update:
            await update_feature(c, layer=layer, fid=fid, patch={"height_m": 99.5}, geometry=None, changeset_id=cs)
        for fid in retire:
            await retire_feature(c, layer=layer, fid=fid, changeset_id=cs)
        return fids

    return await in_own_transaction(conn, work)


async def _case(conn: asyncpg.Connection, *, accept: int | None = None) -> int:
    """File a report (a new case), or accept case ``accept``."""
    layer = (await Registry.load(conn)).get("city_cases")
    if accept is not None:
        await act(conn, layer=layer, fid=accept, action="accept", body=ActionIn(), principal=OPERATOR, scope=ALL)
        return accept
    filed = await file_report(conn, layer=layer, report=ReportIn("event", None, "0501", "示例数据", "inspector",
                                                                  lon=112.9525, lat=28.2015), photos=[], actor="insp")
    return filed.fid


async def _import_buildings(url: str, folder: Path, count: int) -> None:
    geojson, _ = deliveries.gcj02_buildings(folder / f"buildings_{count}.geojson", count=count)
    cli = importlib.import_module("import.cli")
    argv = ["buildings", str(geojson), "--crs", "gcj02", "--database-url", url, "--report-dir",
            str(folder / f"report_{count}"), "--progress", "none"]
    assert await asyncio.to_thread(cli.main, argv) == 0


async def _server_now(conn: asyncpg.Connection) -> dt.datetime:
    return await conn.fetchval("SELECT clock_timestamp()")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def drill(archived: Archived) -> AsyncIterator[dict[str, object]]:
    """Steps 1–6 of the drill; returns T, the restored cluster and what was written when."""
    url = archived.url
    await migrate(url)
    conn = await connect(url)
    try:
        await seed_city(conn)
        # 1. edits, an import and case actions
        first = await _edit(conn, "before-backup", new=4)
        await _import_buildings(url, archived.root, 30)
        case = await _case(conn)
        # 2. a backup (full, both repositories)
        made = run_backup(archived.site, "full")
        # 3. more changes, only in the WAL
        await _edit(conn, "after-backup", new=2, update=[first[0]], retire=[first[1]])
        await _case(conn, accept=case)
        await _import_buildings(url, archived.root, 40)  # 10 new buildings, 30 unchanged
        # 4. T, between writes
        await asyncio.sleep(0.3)
        t = await _server_now(conn)
        await asyncio.sleep(0.3)
        # 5. more changes after T
        late = await _edit(conn, "after-T", new=3, update=[first[2]], retire=[first[0]])
        late_case = await _case(conn)
        await _import_buildings(url, archived.root, 55)
    finally:
        await conn.close()
    archived.site.run("check")  # WAL past T reaches the archive
    # 6. restore to T
    restored = restore(archived.site, archived.root / "restored", to=t)
    yield {"t": t, "restored": restored, "first": first, "late": late, "case": case, "late_case": late_case,
           "made": made}
    restored.cluster.destroy()


async def test_restore_equals_the_live_answer_at_t(archived: Archived, drill: dict[str, object]) -> None:
    t = drill["t"]
    assert isinstance(t, dt.datetime)
    restored = drill["restored"]
    comparison = await compare(archived.url, restored.cluster.url(), t)  # type: ignore[attr-defined]
    assert comparison.equal, comparison.problems()
    assert comparison.recorded_after == 0
    tables = {d.table: d for d in comparison.tables}
    assert tables["data.buildings"].current == 4 + 40 + 2 - 1  # edits and imports before T; one retired
    assert tables["onemap.case_events"].live == 2  # reported, accepted
    # The same check sees the changes after T: as of now the two databases differ.
    later = await compare(archived.url, restored.cluster.url(), await _now(archived.url))  # type: ignore[attr-defined]
    assert not later.equal
    assert {d.table for d in later.tables if not d.equal} >= {"data.buildings", "data.city_cases", "onemap.changesets"}
    # ...and one attribute of one version changed in the restore is named as changed.
    first = drill["first"]
    assert isinstance(first, list)
    conn = await connect(restored.cluster.url())  # type: ignore[attr-defined]
    try:
        await conn.execute("UPDATE data.buildings SET height_m = height_m + 1 WHERE fid = $1", first[3])
        tampered = await compare(archived.url, restored.cluster.url(), t)  # type: ignore[attr-defined]
        await conn.execute("UPDATE data.buildings SET height_m = height_m - 1 WHERE fid = $1", first[3])
    finally:
        await conn.close()
    diff = {d.table: d for d in tampered.tables}["data.buildings"]
    assert diff.changed == [(first[3], 1)] and not diff.missing and not diff.extra


async def _now(url: str) -> dt.datetime:
    conn = await connect(url)
    try:
        return await _server_now(conn)
    finally:
        await conn.close()


async def test_no_change_after_t_and_the_wal_after_the_backup_replayed(archived: Archived,
                                                                        drill: dict[str, object]) -> None:
    restored = drill["restored"]
    first, late = drill["first"], drill["late"]
    assert isinstance(first, list) and isinstance(late, list)
    conn = await connect(restored.cluster.url())  # type: ignore[attr-defined]
    try:
        layer = (await Registry.load(conn)).get("buildings")
        current = {f.fid: f for f in await list_features(conn, layer=layer, selection=Current())}
        case_state = await conn.fetch("SELECT fid, state FROM data.city_cases WHERE valid_to IS NULL ORDER BY fid")
        notes = {r["note"] for r in await conn.fetch("SELECT note FROM onemap.changesets")}
    finally:
        await conn.close()
    assert current[first[0]].version == 2 and current[first[0]].properties["height_m"] == 99.5  # after the backup
    assert first[1] not in current  # retired after the backup
    assert current[first[2]].version == 1  # its update came after T
    assert not set(late) & current.keys()
    assert [(r["fid"], r["state"]) for r in case_state] == [(drill["case"], "accepted")]
    assert "after-backup" in notes and "after-T" not in notes


async def test_restore_matches_the_api_datetime_answer_for_edits(archived: Archived, drill: dict[str, object]) -> None:
    """Edits made with the default valid time (now) are valid from when they were recorded, so the OGC
    ``datetime=T`` answer (valid time) and the restore agree for them: here, the drill's own buildings."""
    t = drill["t"]
    assert isinstance(t, dt.datetime)
    live = await connect(archived.url)
    restored = await connect(drill["restored"].cluster.url())  # type: ignore[attr-defined]
    try:
        layer = (await Registry.load(live)).get("buildings")
        mine = {(f.fid, f.version) for f in await list_features(live, layer=layer, selection=AsOf(t))
                if str(f.properties.get("name") or "").startswith("示例数据")}
        theirs = {(f.fid, f.version) for f in await list_features(restored, layer=layer, selection=Current())
                  if str(f.properties.get("name") or "").startswith("示例数据")}
    finally:
        await live.close()
        await restored.close()
    assert mine == theirs and len(mine) == 5


def test_backups_listed_in_both_repositories(archived: Archived, drill: dict[str, object]) -> None:
    sets = list_backups(archived.site)
    assert {(b.repo, b.type) for b in sets} >= {(1, "full"), (2, "full")}
    assert all(b.repo_bytes > 0 and b.db_bytes >= b.repo_bytes for b in sets)
    # repo2 is encrypted: no file in it holds the plain control file's magic of a PostgreSQL data file.
    assert (archived.site.remote_path / "backup" / "onemap" / "backup.info").exists()
    assert b"[backup:current]" not in (archived.site.remote_path / "backup" / "onemap" / "backup.info").read_bytes()


def test_incremental_then_verify_from_the_remote_copy(archived: Archived, drill: dict[str, object]) -> None:
    made = run_backup(archived.site, "incr", repos=(2,))
    assert [(b.repo, b.type) for b in made] == [(2, "incr")]
    assert made[0].delta_bytes < made[0].db_bytes
    done = verify(archived.site, archived.url, repo=2)
    assert done.backup.label == made[0].label
    assert done.ok, done.comparison.problems()
    assert sum(d.live for d in done.comparison.tables if d.table == "data.buildings") >= 55


def test_live_cluster_lost_restore_replays_the_whole_archive(archived: Archived, drill: dict[str, object]) -> None:
    """The disaster case: the live cluster is gone, so no commit after T reaches the archive; the
    restore then replays all of it (the newest state that survived) and says the target was not reached."""
    archived.site.cluster.stop()
    try:
        done = restore(archived.site, archived.root / "after-loss", to=dt.datetime.now(dt.UTC))
        try:
            assert done.target_reached is False
            count = asyncio.run(_count_changesets(done.cluster.url()))
        finally:
            done.cluster.destroy()
    finally:
        archived.site.cluster.start()
    assert count == asyncio.run(_count_changesets(archived.url))  # everything the live cluster had committed


async def _count_changesets(url: str) -> int:
    conn = await connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM onemap.changesets"))
    finally:
        await conn.close()
