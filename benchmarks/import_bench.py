"""Batch import speed: ``onemap import buildings`` against ``ogr2ogr -f PostgreSQL`` on the same GeoPackage.

Both load N building polygons (generated in central Changsha, EPSG:4490, Chinese survey
columns — tests/deliveries.py ``synthetic_buildings``) from the same file in the same run:

* ogr2ogr with ``PG_USE_COPY=YES`` into a plain table with a GiST index — the floor, run before
  and after our imports (the floor is the mean of the two, so load that drifts during the run on a
  shared machine weighs on both sides alike; both times are printed);
* our import: mapping profile, full validation, staging, SQL checks, versioned merge with
  change rows, reports — end to end as GIS staff run it (Python start-up included);
* our import again with 1 % of the buildings changed (one more floor): it must create exactly
  N/100 new versions, and be far faster than the first import.

Peak RSS of the import process is measured too (target ≤ 1 GB for 1 000 000 rows), the CPU
seconds of each client process (ogr2ogr's, and our import's with its worker processes), and the
server's CPU seconds over the same run (every process of the PostgreSQL cluster, read from /proc:
the postmaster with the backends it reaped, and the processes still alive) — figures that do not
depend on how busy a shared machine is, unlike wall clock.

Run:  ONEMAP_BENCH_PORT_BASE=9410 .venv/bin/python -m benchmarks.import_bench --rows 20000
      (full size: --rows 1000000; --only first,again skips ogr2ogr while iterating)
Uses ONEMAP_DATABASE_URL's server when set (it must run on this machine for the server CPU
figure), else a throwaway private cluster on ONEMAP_BENCH_PORT_BASE + 5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.settings import PORT_BASE
from layers.cluster import PrivateCluster
from layers.db import connect
from layers.migrate import migrate
from tests.deliveries import synthetic_buildings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    rss_mb: float | None = None
    note: str = ""
    cpu_s: float | None = None
    server_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int, *, children: bool) -> int:
    """utime + stime of ``pid`` (plus its reaped children's with ``children``), in clock ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0  # gone meanwhile: its time is in its parent's reaped children's from now on
    return sum(int(f) for f in fields[11:15 if children else 13])


class ServerCpu:
    """CPU seconds of a local PostgreSQL cluster: its postmaster with the backends it has reaped,
    plus the processes still alive (backends, checkpointer, WAL writer, autovacuum …)."""

    def __init__(self, data_dir: Path) -> None:
        self.postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])

    def seconds(self) -> float:
        """The cluster's CPU seconds so far."""
        total = _ticks(self.postmaster, children=True)
        kids = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children")
        for pid in kids.read_text().split() if kids.exists() else []:
            total += _ticks(int(pid), children=False)
        return total / _TICK


_SERVER: ServerCpu | None = None


def _timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str], float, float | None]:
    """(wall seconds, the finished process, its CPU seconds, the server's CPU seconds meanwhile)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _SERVER.seconds() if _SERVER else None
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = _SERVER.seconds() - server_before if _SERVER and server_before is not None else None
    return wall, proc, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), server


async def _fresh_db(admin: str, name: str) -> str:
    conn = await connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    await migrate(url)
    return url


def _ogr2ogr(url: str, gpkg: Path, rows: int) -> Result:
    dsn = "PG:" + url
    seconds, proc, cpu, server = _timed(["ogr2ogr", "-f", "PostgreSQL", dsn, str(gpkg), "-nln", "public.ogr_buildings",
                                 "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-overwrite",
                                 "--config", "PG_USE_COPY", "YES"])
    if proc.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {proc.stderr[-2000:]}")
    return Result("ogr2ogr -f PostgreSQL (PG_USE_COPY=YES)", rows, seconds, None, "plain table + GiST, no checks",
                  cpu, server)


def _import(
    url: str, gpkg: Path, rows: int, name: str, reports: Path, valid_from: str
) -> tuple[Result, dict[str, Any]]:
    out = reports / name.replace(" ", "_")
    seconds, proc, cpu, server = _timed([sys.executable, "-m", "import", "buildings", str(gpkg), "--database-url", url,
                                 "--report-dir", str(out), "--progress", "none", "--valid-from", valid_from])
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    report = json.loads((out / "report.json").read_text())
    phases = ", ".join(f"{k} {v:.1f}" for k, v in report.get("phase_seconds", {}).items())
    note = f"in-process {report['seconds']:.1f} s ({phases})"
    # The import's own figure (getrusage in the child), not inflated by this process's pages.
    return Result(name, rows, seconds, report["peak_rss_mb"], note, cpu, server), report


async def _data_dir(url: str) -> Path:
    conn = await connect(url)
    try:
        return Path(await conn.fetchval("SHOW data_directory"))
    finally:
        await conn.close()


def _floor(before: Result | None, after: Result | None, rows: int) -> Result | None:
    runs = [r for r in (before, after) if r is not None]
    if not runs:
        return None
    def mean(values: list[float | None]) -> float | None:
        got = [v for v in values if v is not None]
        return sum(got) / len(got) if got else None
    return Result("ogr2ogr, mean of before and after", rows, sum(r.seconds for r in runs) / len(runs), None,
                  ", ".join(f"{r.seconds:.2f} s" for r in runs), mean([r.cpu_s for r in runs]),
                  mean([r.server_cpu_s for r in runs]))


def _print(rows: int, floor: Result | None, results: list[Result]) -> None:
    print(f"\nBatch import, {rows:,} building polygons from one GeoPackage (validation + versioning)\n")
    print(f"{'run':44s} {'seconds':>9s} {'rows/s':>10s} {'vs ogr2ogr':>11s} {'peak RSS':>10s} {'CPU s':>7s} "
          f"{'server CPU s':>13s}  note")
    for r in [*([floor] if floor else []), *results]:
        ratio = f"{r.rate / floor.rate:10.2f}x" if floor else f"{'':>11s}"
        server = f"{r.server_cpu_s:13.1f}" if r.server_cpu_s is not None else f"{'n/a':>13s}"
        print(f"{r.name:44s} {r.seconds:9.2f} {r.rate:10,.0f} {ratio} "
              f"{f'{r.rss_mb:.0f} MB' if r.rss_mb else 'n/a':>10s} {r.cpu_s or 0:7.1f} {server}  {r.note}")


def main() -> None:
    """Time One Map's import of a delivery against ogr2ogr into the same PostGIS, and print the ratio."""
    global _SERVER
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work")
    p.add_argument("--only", default="ogr2ogr,first,again",
                   help="which runs: ogr2ogr, first (the first delivery), again (1 %% changed)")
    args = p.parse_args()
    only = set(args.only.split(","))
    if "ogr2ogr" in only and shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: apt-get install gdal-bin")
    args.work.mkdir(parents=True, exist_ok=True)
    first = args.work / f"buildings_{args.rows}.gpkg"
    second = args.work / f"buildings_{args.rows}_1pct.gpkg"
    # Generated in a child process: Linux carries a process's peak RSS over into the children it
    # starts (the fork's copy counts until exec), so a benchmark process that had built a million
    # buildings itself reported its own 800 MB as every import's peak on a first run.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        if not first.exists():
            pool.submit(synthetic_buildings, first, count=args.rows).result()
        if not second.exists():
            pool.submit(synthetic_buildings, second, count=args.rows, changed_every=100).result()
    tmp = tempfile.TemporaryDirectory(prefix="onemap-import-bench-")
    cluster: PrivateCluster | None = None
    before = after = None
    results: list[Result] = []
    try:
        admin = os.environ.get("ONEMAP_DATABASE_URL")
        if not admin:
            cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
            cluster.init(port=PORT_BASE + 5)
            cluster.start()
            admin = cluster.url("postgres")
        url = asyncio.run(_fresh_db(admin, "onemap_import_bench"))
        try:
            _SERVER = ServerCpu(asyncio.run(_data_dir(url)))
        except OSError:
            _SERVER = None  # a server on another machine: no server CPU figure
        if "ogr2ogr" in only:
            before = _ogr2ogr(url, first, args.rows)
        if "first" in only:
            ours, _ = _import(url, first, args.rows, "onemap import (first delivery)", Path(tmp.name), "2024-01-01")
            results.append(ours)
        if "again" in only:
            again, report = _import(url, second, args.rows, "onemap import (1 % changed)", Path(tmp.name),
                                    "2025-01-01")
            results.append(again)
            expected = len(range(0, args.rows, 100))
            got = report["counts"]["new_versions"]
            if got != expected or report["counts"]["inserted"] != 0:
                raise SystemExit(f"re-import created {got} new versions and {report['counts']['inserted']} "
                                 f"inserts; expected exactly {expected} and 0")
        if "ogr2ogr" in only:
            after = _ogr2ogr(url, first, args.rows)
    finally:
        if cluster is not None:
            cluster.destroy()
        tmp.cleanup()
    _print(args.rows, _floor(before, after, args.rows), results)
    if len(results) == 2:
        print(f"\nre-import with 1 % changed: {len(range(0, args.rows, 100)):,} new versions (exact), "
              f"{results[0].seconds / results[1].seconds:.1f}x faster than the first import")


if __name__ == "__main__":
    main()
