"""Backup figures (issue 14 §3): RPO under write load, RTO for the sample city and 1M buildings, sizes.

On a private cluster of its own (fsync on, as in production) with WAL archiving to a local and an
encrypted remote repository (``onemap backup setup``):

1. load the sample city, take a full backup into both repositories (sizes, time);
2. RTO, sample city: restore it into a new folder from each repository and start it;
3. RPO under edit load: ``--writers`` connections edit buildings through the versioned write path
   for ``--edit-seconds`` while the archive lag is sampled; then an incremental backup (size);
4. RPO under bulk load: load ``--size`` synthetic buildings (the import path) while sampling;
5. RTO, ``--size`` buildings: a full backup, then restore it and start it; and a point-in-time restore
   to just after the load from the step-1 backup, which replays the load's WAL.

Run:  .venv/bin/python -m benchmarks.backup --size 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from backup.archiving import setup
from backup.pgbackrest import BackupSite
from backup.restore import Restored, restore
from backup.runs import BackupSet, run_backup
from backup.settings import BackupSettings
from benchmarks import synthetic
from benchmarks.backup_lag import LagSampler
from benchmarks.settings import PROJECT
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate
from layers.registry import Registry
from layers.versioning import in_own_transaction, open_changeset, update_feature
from sample.loader import load_sample


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=False).stdout
    return int(out.split()[0]) if out else 0


async def _sampled(url: str, work: Awaitable[Any]) -> dict[str, float]:
    sampler = LagSampler(url)
    task = asyncio.create_task(sampler.run())
    try:
        await work
        await asyncio.sleep(1.0)
    finally:
        sampler.stop()
        await task
    return sampler.summary()


async def _edit_load(url: str, writers: int, seconds: float) -> int:
    """``writers`` connections raising random buildings' heights, one versioned edit per transaction."""
    conn = await connect(url)
    layer = (await Registry.load(conn)).get("buildings")
    fids = [r["fid"] for r in await conn.fetch("SELECT fid FROM data.buildings WHERE valid_to IS NULL")]
    await conn.close()
    deadline = time.monotonic() + seconds
    done = [0]

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        c = await connect(url)
        try:
            while time.monotonic() < deadline:
                fid = rng.choice(fids)

                async def work(cc: asyncpg.Connection, fid: int = fid) -> None:
                    cs = await open_changeset(cc, actor="bench", source="admin", note="backup benchmark edit")
                    await update_feature(cc, layer=layer, fid=fid, patch={"height_m": round(rng.uniform(3, 90), 1)},
                                         geometry=None, changeset_id=cs, unconditional=True)

                await in_own_transaction(c, work)
                done[0] += 1
        finally:
            await c.close()

    await asyncio.gather(*(writer(i) for i in range(writers)))
    return done[0]


async def _bulk_load(url: str, size: int) -> float:
    conn = await connect(url)
    try:
        began = time.monotonic()
        await synthetic.load(conn, size=size)
        return time.monotonic() - began
    finally:
        await conn.close()


def _timed_restore(site: BackupSite, folder: Path, **kw: Any) -> Restored:
    done = restore(site, folder, **kw)
    done.cluster.destroy()
    return done


class _Facts(dict[str, Any]):
    """The figures, each also printed to stderr as it is measured (a long run keeps what it got)."""

    def __setitem__(self, key: str, value: Any) -> None:
        print(f"[backup bench] {key} = {value}", file=sys.stderr, flush=True)
        super().__setitem__(key, value)


def _row(name: str, b: BackupSet) -> str:
    return (f"| {name} | repo{b.repo} {b.type} | {b.db_bytes / 1e6:,.0f} | {b.delta_bytes / 1e6:,.0f} | "
            f"{b.repo_bytes / 1e6:,.1f} | {(b.stop - b.start).total_seconds():.0f} |")


def main() -> None:
    """Run the steps and print the tables for docs/SCALING.md and the README."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="synthetic buildings (default 1,000,000)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--edit-seconds", type=float, default=90.0)
    parser.add_argument("--archive-timeout", type=int, default=60, help="archive_timeout in seconds")
    parser.add_argument("--sample-bbox", default="all",
                        help="part of the sample city to load (lon,lat,lon,lat); 'all' for the whole")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="onemap-bench-backup-")
    root = Path(tmp.name)
    cluster = PrivateCluster(root / "live", throwaway=False)
    settings = BackupSettings(cipher_pass=SecretStr("benchmark-passphrase"), archive_timeout_s=args.archive_timeout)
    site = BackupSite.for_cluster(cluster, settings, root)
    rows: list[str] = []
    facts = _Facts()
    try:
        cluster.init()
        cluster.start()
        cluster.ensure_database()
        url = cluster.url()
        asyncio.run(migrate(url))
        setup(site)
        bbox = None if args.sample_bbox == "all" else tuple(float(v) for v in args.sample_bbox.split(","))
        began = time.monotonic()
        asyncio.run(load_sample(url, data_dir=PROJECT / "sample" / "data", bbox=bbox))  # type: ignore[arg-type]
        facts["sample_load_s"] = time.monotonic() - began
        full = run_backup(site, "full")
        rows += [_row("sample city", b) for b in full]
        facts["rows"] = list(rows)
        for repo in (1, 2):
            r = _timed_restore(site, root / f"rto-sample-{repo}", repo=repo)
            facts[f"rto_sample_repo{repo}"] = (r.restore_s, r.recovery_s)
        edits: list[int] = []

        async def edit_step() -> dict[str, float]:
            async def go() -> None:
                edits.append(await _edit_load(url, args.writers, args.edit_seconds))
            return await _sampled(url, go())

        facts["rpo_edits"] = asyncio.run(edit_step())
        facts["edits"] = edits[0]
        rows += [_row("after the edits", b) for b in run_backup(site, "incr")]
        facts["rows"] = list(rows)
        load_s: list[float] = []

        async def bulk_step() -> dict[str, float]:
            async def go() -> None:
                load_s.append(await _bulk_load(url, args.size))
            return await _sampled(url, go())

        facts["rpo_bulk"] = asyncio.run(bulk_step())
        facts["bulk_load_s"] = load_s[0]
        after_load = dt.datetime.now(dt.UTC)
        time.sleep(1.0)
        site.run("check")
        r = _timed_restore(site, root / "pitr-big", to=after_load, repo=1)
        facts["rto_pitr_replay"] = (r.restore_s, r.recovery_s)
        big = run_backup(site, "full")
        rows += [_row(f"{args.size:,} buildings", b) for b in big]
        facts["rows"] = list(rows)
        for repo in (1, 2):
            r = _timed_restore(site, root / f"rto-big-{repo}", repo=repo)
            facts[f"rto_big_repo{repo}"] = (r.restore_s, r.recovery_s)
        facts["repo1_bytes"] = _du(site.repo1)
        facts["repo2_bytes"] = _du(site.remote_path)
        facts["wal_repo1_bytes"] = _du(site.repo1 / "archive")
        facts["db_bytes"] = int(subprocess.run(
            [cluster.install.exe("psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "onemap", "-d", "onemap",
             "-XtAc", "SELECT pg_database_size('onemap')"], capture_output=True, text=True, check=True).stdout)
    finally:
        cluster.destroy()
        tmp.cleanup()
    _report(args, rows, facts)


def _report(args: argparse.Namespace, rows: list[str], facts: dict[str, Any]) -> None:
    print(f"\nBackup benchmark — sample city + {args.size:,} synthetic buildings, archive_timeout "
          f"{args.archive_timeout} s (figures under load: other work shares the machine)\n")
    print("| data | backup | database MB | changed MB | stored MB | seconds |\n|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nrepo1 on disk {facts['repo1_bytes'] / 1e6:,.0f} MB "
          f"(WAL archive {facts['wal_repo1_bytes'] / 1e6:,.0f} MB), "
          f"repo2 {facts['repo2_bytes'] / 1e6:,.0f} MB; live database {facts['db_bytes'] / 1e6:,.0f} MB\n")
    print("| RPO: archive lag while | writes | WAL MB/s | lag p50 s | lag p95 s | lag max s | unarchived max MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    loads = (("rpo_edits", f"{args.writers} editors, {args.edit_seconds:.0f} s", f"{facts['edits']:,} edits"),
             ("rpo_bulk", f"loading {args.size:,} buildings", f"{facts['bulk_load_s']:.0f} s load"))
    for key, what, writes in loads:
        s = facts[key]
        print(f"| {what} | {writes} | {s['wal_mb_per_s']:.1f} | {s['lag_p50_s']:.1f} | {s['lag_p95_s']:.1f} | "
              f"{s['lag_max_s']:.1f} | {s['lag_max_mb']:.0f} |")
    print("\n| RTO: restore | pgBackRest restore s | start + recovery s | total s |\n|---|---:|---:|---:|")
    for key, what in (("rto_sample_repo1", "sample city, repo1"),
                      ("rto_sample_repo2", "sample city, repo2 (encrypted)"),
                      ("rto_big_repo1", f"{args.size:,} buildings, repo1"),
                      ("rto_big_repo2", f"{args.size:,} buildings, repo2 (encrypted)"),
                      ("rto_pitr_replay", f"PITR: sample backup + replay of the {args.size:,} load's WAL")):
        a, b = facts[key]
        print(f"| {what} | {a:.1f} | {b:.1f} | {a + b:.1f} |")


if __name__ == "__main__":
    main()
