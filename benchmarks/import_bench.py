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

Peak RSS of the import process is measured too (target ≤ 1 GB for 1 000 000 rows), and the CPU
seconds of each client process (ogr2ogr's, and our import's; PostgreSQL's own work is not in them).

Run:  .venv/bin/python -m benchmarks.import_bench --rows 20000      (full size: --rows 1000000)
Uses ONEMAP_DATABASE_URL's server when set, else a throwaway private cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str], float]:
    """(wall seconds, the finished process, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, proc, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
    seconds, proc, cpu = _timed(["ogr2ogr", "-f", "PostgreSQL", dsn, str(gpkg), "-nln", "public.ogr_buildings",
                                 "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-overwrite",
                                 "--config", "PG_USE_COPY", "YES"])
    if proc.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {proc.stderr[-2000:]}")
    return Result("ogr2ogr -f PostgreSQL (PG_USE_COPY=YES)", rows, seconds, None, "plain table + GiST, no checks",
                  cpu)


def _import(
    url: str, gpkg: Path, rows: int, name: str, reports: Path, valid_from: str
) -> tuple[Result, dict[str, Any]]:
    out = reports / name.replace(" ", "_")
    seconds, proc, cpu = _timed([sys.executable, "-m", "import", "buildings", str(gpkg), "--database-url", url,
                                 "--report-dir", str(out), "--progress", "none", "--valid-from", valid_from])
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    report = json.loads((out / "report.json").read_text())
    note = f"in-process {report['seconds']:.1f} s ({report['rows_per_second']:,} rows/s)"
    # The import's own figure (getrusage in the child), not inflated by this process's pages.
    return Result(name, rows, seconds, report["peak_rss_mb"], note, cpu), report


def main() -> None:
    """Time One Map's import of a delivery against ogr2ogr into the same PostGIS, and print the ratio."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work")
    args = p.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: apt-get install gdal-bin")
    args.work.mkdir(parents=True, exist_ok=True)
    first = args.work / f"buildings_{args.rows}.gpkg"
    second = args.work / f"buildings_{args.rows}_1pct.gpkg"
    if not first.exists():
        synthetic_buildings(first, count=args.rows)
    if not second.exists():
        synthetic_buildings(second, count=args.rows, changed_every=100)
    tmp = tempfile.TemporaryDirectory(prefix="onemap-import-bench-")
    cluster: PrivateCluster | None = None
    try:
        admin = os.environ.get("ONEMAP_DATABASE_URL")
        if not admin:
            cluster = PrivateCluster(Path(tmp.name) / "pg", throwaway=False)
            cluster.init()
            cluster.start()
            admin = cluster.url("postgres")
        url = asyncio.run(_fresh_db(admin, "onemap_import_bench"))
        before = _ogr2ogr(url, first, args.rows)
        results = []
        ours, _ = _import(url, first, args.rows, "onemap import (first delivery)", Path(tmp.name), "2024-01-01")
        results.append(ours)
        again, report = _import(url, second, args.rows, "onemap import (1 % changed)", Path(tmp.name), "2025-01-01")
        results.append(again)
        after = _ogr2ogr(url, first, args.rows)
        expected = len(range(0, args.rows, 100))
        got = report["counts"]["new_versions"]
        if got != expected or report["counts"]["inserted"] != 0:
            raise SystemExit(f"re-import created {got} new versions and {report['counts']['inserted']} inserts; "
                             f"expected exactly {expected} and 0")
    finally:
        if cluster is not None:
            cluster.destroy()
        tmp.cleanup()
    floor = Result("ogr2ogr, mean of before and after", args.rows, (before.seconds + after.seconds) / 2, None,
                   f"before {before.seconds:.2f} s, after {after.seconds:.2f} s",
                   ((before.cpu_s or 0) + (after.cpu_s or 0)) / 2)
    print(f"\nBatch import, {args.rows:,} building polygons from one GeoPackage (validation + versioning)\n")
    print(f"{'run':44s} {'seconds':>9s} {'rows/s':>10s} {'vs ogr2ogr':>11s} {'peak RSS':>10s} {'CPU s':>7s}  note")
    for r in [floor, *results]:
        print(f"{r.name:44s} {r.seconds:9.2f} {r.rate:10,.0f} {r.rate / floor.rate:10.2f}x "
              f"{f'{r.rss_mb:.0f} MB' if r.rss_mb else 'n/a':>10s} {r.cpu_s or 0:7.1f}  {r.note}")
    print(f"\nre-import with 1 % changed: {expected:,} new versions (exact), "
          f"{results[0].seconds / results[1].seconds:.1f}x faster than the first import")


if __name__ == "__main__":
    main()
