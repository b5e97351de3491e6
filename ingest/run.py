"""One delivery, one transaction: read → map → validate → COPY into staging → check in SQL → merge.

Nothing is written unless the whole delivery is acceptable: rejected rows beyond
``max_rejects`` (default 0), a dry run, an error, or the process being killed all
leave the database exactly as it was, because everything — the changeset row, the
staging tables, the versioned merge — lives in a single transaction.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from ingest.decoding import UndecodableText
from ingest.delivery import Delivery
from ingest.report import Report
from ingest.request import Request
from layers.errors import LayerError
from layers.registry import Registry
from layers.versioning import open_changeset
from spatial.errors import SpatialError


class Refused(Exception):
    """Raised inside the transaction to roll it back: too many rejections, or a dry run."""


async def run_delivery(conn: asyncpg.Connection, request: Request) -> Report:
    """Import one delivery. Never raises for bad data or unreadable files: the report says what happened
    (``status`` "failed" with ``error`` when the delivery could not be read, mapped or merged)."""
    report = Report(job=request.job, options=request.describe())
    registry = await Registry.load(conn)
    delivery = Delivery(conn, request, registry, report)
    try:
        delivery.plan()
    except (LayerError, SpatialError) as exc:
        _record_error(report, exc)
        report.decision = "the delivery could not be read or mapped; nothing was written"
        report.finished_at = dt.datetime.now(dt.UTC)
        return report
    try:
        async with conn.transaction():
            await _session_settings(conn)
            changeset_id = await open_changeset(
                conn, actor=request.actor, source="import", note=request.note,
                details={"job": request.job, "sources": [str(s.path) for s in request.sources],
                         "mode": request.mode},
            )
            report.changeset_id = delivery.changeset_id = changeset_id
            delivery.progress.phase("reading")
            await delivery.run_inputs()
            delivery.progress.phase("checking")
            await delivery.check()
            rejected = len(report.rejections)
            if rejected > request.max_rejects:
                for stage in delivery.stages.values():
                    report.layer(stage.layer.id).valid = stage.rows
                report.status = "refused"
                report.decision = (f"{rejected} row(s) rejected (allowed: {request.max_rejects}); nothing was "
                                   "imported. Fix the rows listed below and deliver again, or raise --max-rejects.")
                raise Refused
            delivery.progress.phase("merging")
            await delivery.merge(changeset_id)
            if request.dry_run:
                report.status = "dry-run"
                report.decision = "dry run: everything was checked and merged, then rolled back; nothing was written"
                raise Refused
            report.status = "imported"
            accepted = "" if not rejected else f"; {rejected} rejected row(s) were left out (--max-rejects)"
            report.decision = f"imported in one transaction as changeset {changeset_id}{accepted}"
            delivery.progress.phase("committing")
    except Refused:
        report.changeset_id = None if report.status != "imported" else report.changeset_id
    except (LayerError, SpatialError) as exc:
        report.status = "failed"
        _record_error(report, exc)
        report.decision = "the import stopped with an error and was rolled back; nothing was written"
    finally:
        report.finished_at = dt.datetime.now(dt.UTC)
        delivery.progress.close()
        delivery.progress.phase(f"done: {report.status}")
        report.phase_seconds = {k: v for k, v in delivery.progress.seconds.items() if not k.startswith("done")}
    return report


def _record_error(report: Report, exc: LayerError | SpatialError) -> None:
    """Put the error in the report, with where it is when it is one place (an undecodable cell)."""
    report.error = str(exc)
    if isinstance(exc, UndecodableText):
        report.problem = exc.problem.as_dict()


async def _session_settings(conn: asyncpg.Connection) -> None:
    # Staging tables are temp tables, read through the session's own buffers (8 MB by default):
    # a million staged rows were written out to disk by COPY and read back by each check and the
    # merge. Only allocated as used; it must be set before the session's first temp table.
    await conn.execute("SET LOCAL temp_buffers = '1GB'")
    # If the client dies (kill -9) the server notices within a second and rolls back.
    await conn.execute("SET LOCAL client_connection_check_interval = '1s'")
    await conn.execute("SET LOCAL statement_timeout = 0")
    await conn.execute("SET LOCAL work_mem = '64MB'")
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
