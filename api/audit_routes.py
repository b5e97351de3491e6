"""``/admin/audit``: the audit log for admins, as an HTML page (中文/English) or JSON, with the
same filters as ``onemap audit search``; and the writer's start and stop for the app's lifespan."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from api.audit import note_event
from api.auth import AdminDep
from api.context import AppContext, get_context
from api.errors import InvalidParameter
from api.negotiation import negotiate
from api.ogc import html
from layers.audit import AuditQuery, search_events
from layers.audit_queue import AuditQueue, KeyUseLog

router = APIRouter(tags=["audit"])
Ctx = Annotated[AppContext, Depends(get_context)]


def start_audit(ctx: AppContext) -> None:
    """Start this process's audit writer (``ONEMAP_AUDIT_*`` settings)."""
    audit = ctx.settings.audit
    ctx.audit = AuditQueue(ctx.pool, flush_seconds=audit.flush_seconds, batch_rows=audit.batch_rows,
                           buffer_rows=audit.buffer_rows)
    ctx.key_uses = KeyUseLog(audit.key_use_period_seconds)
    ctx.audit.start()


async def stop_audit(ctx: AppContext) -> None:
    """Stop the writer and write what is still queued."""
    if ctx.audit is not None:
        await ctx.audit.close()


def parse_since(value: str | None, name: str) -> dt.datetime | None:
    """An RFC 3339 instant, a date (midnight UTC), or a span back from now (``30m``, ``12h``, ``7d``)."""
    if not value:
        return None
    text = value.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{name} must be an instant (2026-12-06T08:00:00Z), a date or a span (7d, 12h)",
                               extra={"parameter": name}) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "at": row["at"].isoformat()}


@router.get("/admin/audit", summary="The audit log (admins): reads of non-public layers and security events")
async def audit_page(
    request: Request,
    ctx: Ctx,
    admin: AdminDep,
    user: Annotated[str | None, Query(description="Exact principal name")] = None,
    layer: Annotated[str | None, Query(description="Exact layer id")] = None,
    kind: Annotated[str | None, Query(description="A kind (read.tile) or a prefix ending in '.' (auth.)")] = None,
    since: Annotated[str | None, Query(description="From: RFC 3339, a date, or a span back (7d)")] = None,
    until: Annotated[str | None, Query(description="Before: RFC 3339 or a date")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> Response:
    """Events matching the filters, newest first; viewing the log is itself logged."""
    query = AuditQuery(actor=user or None, layer=layer or None, kind=kind or None,
                       since=parse_since(since, "since"), until=parse_since(until, "until"), limit=limit)
    async with ctx.pool.acquire() as conn:
        rows = await search_events(conn, query)
    note_event(ctx, request, kind="audit.viewed", who=admin.name,
               detail={k: v for k, v in request.query_params.items() if k != "lang"} or None)
    headers = {"Cache-Control": "no-store"}
    if negotiate(request) == "html":
        filters = {"user": user or "", "layer": layer or "", "kind": kind or "", "since": since or "",
                   "until": until or "", "limit": limit}
        return html.render(request, "audit.html.j2", rows=rows, filters=filters, headers=headers)
    body = {"events": [_plain(r) for r in rows], "count": len(rows)}
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
