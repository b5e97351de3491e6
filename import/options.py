"""Command-line options every import job shares, and running one request end to end."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from ingest.report import Report
from ingest.request import Request, SourceSpec, parse_valid_from
from ingest.run import run_delivery
from layers.db import connect, resolve_database_url
from layers.errors import LayerError
from layers.settings import DatabaseSettings
from spatial.errors import SpatialError

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def _pair(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=VALUE")
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


def _source(text: str) -> SourceSpec:
    """``file`` or ``file::layer`` (a layer inside a GeoPackage, FileGDB, DXF …)."""
    path, _, layer = text.partition("::")
    return SourceSpec(Path(path), layer or None)


def parser(job: str, description: str) -> argparse.ArgumentParser:
    """The argument parser with the options every job shares; jobs add their own."""
    p = argparse.ArgumentParser(prog=f"onemap import {job}", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="*", type=_source, metavar="FILE[::LAYER]",
                   help="delivery files: .shp .gpkg .gdb .geojson .csv .xlsx .dxf .inp (LAYER picks one layer)")
    p.add_argument("--layer", dest="target", help="target layer id (generic job; default: the job's layer)")
    p.add_argument("--profile", help="mapping profile: a shipped name (see --list-profiles) or a YAML file")
    p.add_argument("--map", action="append", type=_pair, default=[], metavar="COLUMN=FIELD",
                   help="take FIELD from COLUMN (repeatable; wins over the profile)")
    p.add_argument("--set", action="append", type=_pair, default=[], metavar="FIELD=VALUE",
                   help="give every row this value (repeatable), e.g. --set scheme_version=2023")
    p.add_argument("--crs", help="CRS of the coordinates when the data does not say: EPSG code, gcj02 or bd09")
    p.add_argument("--xy-order", choices=["auto", "en", "ne"], default="auto",
                   help="ne: X is northing (Chinese survey tables); en: X is easting; auto (default): tell from "
                        "the numbers")
    p.add_argument("--x-column", help="column holding X in a CSV/XLSX table")
    p.add_argument("--y-column", help="column holding Y in a CSV/XLSX table")
    p.add_argument("--encoding", help="text encoding of .dbf/.csv (default: detected; e.g. GBK, GB18030, UTF-8)")
    p.add_argument("--mode", choices=["append", "upsert", "replace-extent"], default="upsert",
                   help="append: all rows are new; upsert (default): match by the layer key, changed rows "
                        "become new versions; replace-extent: upsert, and retire features inside the "
                        "delivery's extent that it no longer contains")
    p.add_argument("--valid-from", help="date the survey describes (default: now), e.g. 2024-05-01")
    p.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    p.add_argument("--make-valid", action="store_true", help="repair invalid geometries and report each repair")
    p.add_argument("--max-rejects", type=int, default=0,
                   help="import the valid rows anyway when at most this many are rejected (default 0)")
    p.add_argument("--report-dir", type=Path, help="where report.json and report.html go "
                                                   "(default: var/import-reports/<time>-<job>)")
    p.add_argument("--database-url", help="PostGIS URL (default: ONEMAP_DATABASE_URL or the private cluster)")
    p.add_argument("--actor", default=None, help="who is importing (recorded in the changeset)")
    p.add_argument("--note", help="why (recorded in the changeset)")
    p.add_argument("--progress", choices=["auto", "bar", "none"], default="auto",
                   help="progress bar with rows/s (auto: when stderr is a terminal)")
    p.add_argument("--list-profiles", action="store_true", help="list the shipped mapping profiles and exit")
    return p


def request_from(job: str, args: argparse.Namespace, **extra: Any) -> Request:
    """A :class:`Request` from parsed options (``extra`` carries job-specific fields)."""
    progress = args.progress == "bar" or (args.progress == "auto" and sys.stderr.isatty())
    return Request(
        job=job, sources=extra.pop("sources", None) or list(args.sources), layer=args.target,
        profile=args.profile, renames=dict(args.map), constants=dict(args.set), crs=args.crs,
        xy_order=args.xy_order, x_column=args.x_column, y_column=args.y_column, encoding=args.encoding,
        mode=args.mode, valid_from=parse_valid_from(args.valid_from) if args.valid_from else None,
        dry_run=args.dry_run, make_valid=args.make_valid, max_rejects=args.max_rejects,
        actor=args.actor or _default_actor(), note=args.note, progress=progress, **extra,
    )


def _default_actor() -> str:
    import getpass

    try:
        return f"import:{getpass.getuser()}"
    except (KeyError, OSError):
        return "import"


def list_profiles() -> int:
    """Print the shipped mapping profiles (``--list-profiles``)."""
    from ingest.profiles import shipped_profiles

    for p in shipped_profiles():
        print(f"{p.name:22s} {', '.join(p.applies_to):20s} {p.title}")
    return EXIT_OK


def report_dir(job: str, given: Path | None) -> Path:
    """Where the reports go: ``--report-dir``, else ``var/import-reports/<time>-<job>``."""
    if given is not None:
        return given
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return DatabaseSettings().var_dir / "import-reports" / f"{stamp}-{job}"


async def _run(request: Request, url: str | None) -> Report:
    conn = await connect(url or resolve_database_url(DatabaseSettings()))
    try:
        await conn.execute("SET application_name = 'onemap-import'")
        return await run_delivery(conn, request)
    finally:
        await conn.close()


def execute(job: str, args: argparse.Namespace, **extra: Any) -> int:
    """Run one job from its parsed options; write both reports; return the exit code."""
    import importlib

    if args.list_profiles:
        return list_profiles()
    if not args.sources and not extra.get("sources"):
        print(f"error: give at least one delivery file (onemap import {job} FILE …)", file=sys.stderr)
        return EXIT_ERROR
    try:
        request = request_from(job, args, **extra)
        report = asyncio.run(_run(request, args.database_url))
    except (LayerError, SpatialError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    out = report_dir(job, args.report_dir)
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / "report.json")
    reporting = importlib.import_module("import.reporting")
    reporting.write_html(report, out / "report.html")
    print(reporting.summary(report, out))
    return exit_code(report)


def exit_code(report: Report) -> int:
    """0 imported (or a clean dry run); 1 refused for rejected rows; 2 the import could not run."""
    return {"failed": EXIT_ERROR, "refused": EXIT_REJECTED}.get(report.status, EXIT_OK)
