"""``onemap audit verify | search | purge``, and how other commands put admin actions on record.

Commands write their events straight away (no queue: a command line is not a hot path), as
``cli:<operating-system user>``, so grants, role changes and keys issued from a shell are in the
same chain as what the API logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from api.audit_routes import parse_since
from api.errors import InvalidParameter
from api.settings import load_settings
from layers.audit import AuditEvent, AuditQuery, ChainReport, append, purge_before, search_events, verify_chain
from layers.db import connect, resolve_database_url

audit_app = typer.Typer(help="The access audit log: verify its hash chain, search it, purge by retention.",
                        no_args_is_help=True)
T = TypeVar("T")


def cli_actor() -> str:
    """Who runs this command, as the audit log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def with_conn(job: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``job`` with one connection to the configured database."""
    async def go() -> T:
        conn = await connect(resolve_database_url(load_settings().db))
        try:
            return await job(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


async def record(conn: Any, kind: str, *, layer: str | None = None, detail: dict[str, Any] | None = None,
                 area: str | None = None, features: int | None = None) -> None:
    """Write one admin event now, as the operating-system user running the command."""
    await append(conn, [AuditEvent(kind=kind, actor=cli_actor(), credential="cli", layer=layer, area=area,
                                   features=features, detail=detail)])


def _report(report: ChainReport) -> None:
    span = f"rows {report.first_seq}–{report.last_seq}" if report.rows else "no rows"
    if report.ok:
        typer.echo(f"audit chain OK: {report.rows} rows checked ({span}); head hash {report.head_hash}")
        return
    typer.secho(f"audit chain BROKEN at row {report.broken_seq}: {report.reason}", fg=typer.colors.RED, err=True)
    typer.echo(f"{report.rows} rows checked; rows before {report.broken_seq} hold (last good hash {report.head_hash})")


@audit_app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 1 and name the first broken row if any row was changed or removed."""
    report = with_conn(verify_chain)
    _report(report)
    if not report.ok:
        raise typer.Exit(1)


def _since(value: str | None, name: str) -> dt.datetime | None:
    try:
        return parse_since(value, name)
    except InvalidParameter as exc:
        typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@audit_app.command("search")
def search(
    user: Annotated[str | None, typer.Option(help="Exact principal name (cli:<name> for commands)")] = None,
    layer: Annotated[str | None, typer.Option(help="Exact layer id")] = None,
    since: Annotated[str | None, typer.Option(help="From: 2026-12-01, an instant, or a span: 7d, 12h")] = None,
    until: Annotated[str | None, typer.Option(help="Before: a date or an instant")] = None,
    kind: Annotated[str | None, typer.Option(help="A kind (read.tile) or a prefix ending in '.' (auth.)")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Events matching the filters, newest first."""
    query = AuditQuery(actor=user, layer=layer, kind=kind, since=_since(since, "since"),
                       until=_since(until, "until"), limit=limit)
    rows = with_conn(lambda conn: search_events(conn, query))
    for row in rows:
        if as_json:
            typer.echo(json.dumps({**row, "at": row["at"].isoformat()}, ensure_ascii=False))
            continue
        features = "" if row["features"] is None else f" n={row['features']}"
        typer.echo(f"{row['seq']:>8} {row['at']:%Y-%m-%d %H:%M:%S} {row['kind']:<20} {row['actor']:<16} "
                   f"{row['layer'] or '-':<24} {row['area'] or '-'}{features}"
                   f"{' status=' + str(row['status']) if row['status'] else ''}")


@audit_app.command("purge")
def purge(
    days: Annotated[int | None, typer.Option(help="Keep this many days (default ONEMAP_AUDIT_RETENTION_DAYS)")] = None,
) -> None:
    """Delete events older than the retention period, behind a checkpoint that keeps the chain verifiable."""
    keep = days if days is not None else load_settings().audit.retention_days
    if keep < 1:
        typer.secho("error: --days must be at least 1", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep)
    result = with_conn(lambda conn: purge_before(conn, before=before, actor=cli_actor()))
    if result.purged_through is None:
        typer.echo(f"nothing older than {keep} days ({before:%Y-%m-%d %H:%M} UTC)")
        return
    typer.echo(f"purged {result.rows} events (rows up to {result.purged_through}); checkpoint recorded")
