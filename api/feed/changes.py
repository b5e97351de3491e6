"""``GET /collections/{id}/changes``: the layer's mutations in commit order after a cursor (the feed),
or, with ``fid`` / ``before``, the audit trail newest first; ``…/changes/events`` streams the feed.

Snapshot then follow: ask ``?since=now`` first (its ``next`` is the current head), then read the
items (``/collections/{id}/items``), then follow the feed from that cursor. A mutation carries the
feature's ``version``, so one already in the snapshot is recognised (version not newer) and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response, StreamingResponse

from api.audit import note_read
from api.auth import PrincipalDep, ReadableCollection
from api.context import AppContext, get_context
from api.errors import InvalidParameter, NotAuthenticated
from api.feed.lifecycle import feed_news
from api.ogc.links import JSON, link
from api.ogc.params import check_known
from feed.cursor import Cursor, parse_cursor
from feed.news import FeedNews
from feed.pages import OPERATIONS, head_seq, page_json, read_page
from layers.model import Layer
from layers.principals import Principal
from layers.query.history import audit_trail
from layers.query.instants import rfc3339

router = APIRouter(tags=["feed"])
Ctx = Annotated[AppContext, Depends(get_context)]
SSE_BATCH = 500


def _signed_in(principal: Principal) -> None:
    if principal.is_anonymous:
        raise NotAuthenticated(
            "the change feed needs a signed-in account or API key", headers={"WWW-Authenticate": "Bearer"}
        )


async def _cursor(ctx: AppContext, text: str | None) -> Cursor:
    if text is None or text == "":
        return parse_cursor("0")
    if text == "now":
        async with ctx.pool.acquire() as conn:
            return Cursor.after_commit(await head_seq(conn))
    return parse_cursor(text)


def _ops(text: str | None) -> list[str] | None:
    if text is None:
        return None
    ops = [o.strip() for o in text.split(",") if o.strip()]
    if not ops or set(ops) - set(OPERATIONS):
        raise InvalidParameter(f"op is a comma-separated list of {', '.join(OPERATIONS)}", extra={"parameter": "op"})
    return ops


@router.get("/collections/{collectionId}/changes", summary="Change feed: mutations in commit order after a cursor")
async def get_changes(request: Request, layer: ReadableCollection, ctx: Ctx, principal: PrincipalDep) -> Response:
    """Mutations after ``since`` (a cursor, ``0`` = the beginning, ``now`` = the head), oldest first.

    With ``fid`` or ``before``: the audit trail of who changed what, newest first (as before the feed).
    """
    check_known(request, frozenset({"f", "fid", "limit", "before", "since", "op"}))
    _signed_in(principal)
    q = request.query_params
    if q.get("f", "json") != "json":
        raise InvalidParameter("the change feed is JSON only (f=json)", extra={"parameter": "f"})
    if "fid" in q or "before" in q:
        return await _audit_trail(request, layer, ctx)
    try:
        limit = min(max(int(q.get("limit", str(ctx.settings.feed.page_limit))), 1), ctx.settings.feed.max_page_limit)
    except ValueError:
        raise InvalidParameter("limit is a whole number", extra={"parameter": "limit"}) from None
    after = await _cursor(ctx, q.get("since"))
    ops = _ops(q.get("op"))
    async with ctx.pool.acquire() as conn:
        page = await read_page(conn, [layer], after=after, limit=limit, ops=ops)
    note_read(request, ctx, layer, kind="read.changes", area=f"since:{after}", features=len(page.mutations))
    nxt = request.url.include_query_params(since=str(page.next))
    links = [link(str(request.url), "self", JSON), link(str(nxt), "next", JSON)]
    return Response(page_json(layer.id, page, links), media_type=JSON, headers={"Cache-Control": "private, no-store"})


async def _audit_trail(request: Request, layer: Layer, ctx: AppContext) -> Response:
    q = request.query_params
    try:
        fid = int(q["fid"]) if "fid" in q else None
        limit = min(max(int(q.get("limit", "100")), 1), 1000)
        before = int(q["before"]) if "before" in q else None
    except ValueError:
        raise InvalidParameter("fid, limit and before are whole numbers") from None
    async with ctx.pool.acquire() as conn:
        rows = await audit_trail(conn, layer=layer, fid=fid, before=before, limit=limit)
    note_read(request, ctx, layer, kind="read.changes", area=f"fid:{fid}" if fid is not None else "all",
              features=len(rows))
    changes = [
        {
            "id": r["id"], "featureId": r["fid"], "operation": r["op"], "versionBefore": r["version_before"],
            "versionAfter": r["version_after"],
            **({"features": r["features"]} if r["features"] is not None else {}),  # a bulk merge's entry
            "recordedAt": rfc3339(r["recorded_at"]), "unconditional": r["unconditional"], "changeset": r["changeset"],
            "actor": r["actor"], "source": r["source"], "note": r["note"], "comment": r["comment"],
        }
        for r in rows
    ]
    links = [link(str(request.url), "self", JSON)]
    if len(rows) == limit:
        nxt = request.url.include_query_params(before=rows[-1]["id"])
        links.append(link(str(nxt), "next", JSON))
    return Response(orjson.dumps({"collection": layer.id, "changes": changes, "links": links}), media_type=JSON)


async def _stream(
    request: Request, ctx: AppContext, news: FeedNews, layer: Layer, after: Cursor, ops: list[str] | None
) -> AsyncIterator[bytes]:
    heartbeat = ctx.settings.feed.heartbeat_s
    yield b"retry: 2000\n: connected\n\n"
    while not await request.is_disconnected():
        waiter = news.waiter()
        async with ctx.pool.acquire() as conn:
            page = await read_page(conn, [layer], after=after, limit=SSE_BATCH, ops=ops)
        for cursor, text in zip(page.cursors, page.mutations, strict=True):
            yield b"id: " + str(cursor).encode() + b"\nevent: mutation\ndata: " + text.encode() + b"\n\n"
        after = page.next
        if len(page.mutations) == SSE_BATCH:
            continue
        if not await news.wait(waiter, heartbeat):
            yield b": heartbeat\n\n"
        await asyncio.sleep(0)


@router.get("/collections/{collectionId}/changes/events", summary="Change feed as Server-Sent Events")
async def get_change_events(
    request: Request, layer: ReadableCollection, ctx: Ctx, principal: PrincipalDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """``mutation`` events (``id`` = cursor); resumes after ``Last-Event-ID`` or ``since`` (default: now)."""
    check_known(request, frozenset({"since", "op"}))
    _signed_in(principal)
    text = last_event_id.strip() if last_event_id else request.query_params.get("since", "now")
    after = await _cursor(ctx, text)
    ops = _ops(request.query_params.get("op"))
    news = await feed_news(request.app, ctx)
    note_read(request, ctx, layer, kind="read.changes", area=f"events:{after}", features=None)
    return StreamingResponse(_stream(request, ctx, news, layer, after, ops), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
