"""``GET /cases/events``: the live feed of new and changed cases (Server-Sent Events).

Each instance keeps one LISTEN connection on ``onemap_cases`` (:class:`CaseFeed`, started with the
first client); a notification wakes every client of the instance, and each reads the events after
the last one it sent from ``onemap.case_events``, filtered by what its caller may see. The event
``id`` is the log's id, so a browser that reconnects — to this or another instance, after this one
died — sends ``Last-Event-ID`` and gets exactly what it missed. A comment line every
``heartbeat_s`` keeps proxies from closing an idle stream; with no notification at all, the
heartbeat's read still delivers (a lost LISTEN connection costs latency, never events).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, FastAPI, Header, Query, Request
from starlette.responses import StreamingResponse

from api.app_state import started_once
from api.cases.common import Ctx, SignedIn, scope_of
from api.context import AppContext
from cases.access import Scope
from cases.events import CASES_CHANNEL, events_since
from cases.events import last_event_id as last_event_id_now
from layers.listener import ChannelNews

router = APIRouter(tags=["cases"])
BATCH = 500


class CaseFeed(ChannelNews):
    """One instance's LISTEN on the case channel, waking the streams that wait for news."""

    def __init__(self, url: str) -> None:
        """Nothing listens before :meth:`start`."""
        super().__init__(url, CASES_CHANNEL, name="cases")


async def case_feed(app: FastAPI, ctx: AppContext) -> CaseFeed:
    """This app's feed, started on first use."""

    async def start() -> CaseFeed:
        feed = CaseFeed(ctx.database_url)
        await feed.start()
        return feed

    return await started_once(app, "case_feed", start)


async def stop_case_feed(app: FastAPI) -> None:
    """Close the feed's LISTEN connection at shutdown (if a client ever started it)."""
    feed: CaseFeed | None = getattr(app.state, "case_feed", None)
    if feed is not None:
        app.state.case_feed = None
        await feed.stop()


def _frame(event_id: int, data: dict[str, object]) -> bytes:
    return b"id: %d\nevent: case\ndata: %s\n\n" % (event_id, orjson.dumps(data))


async def _stream(request: Request, ctx: AppContext, feed: CaseFeed, scope: Scope, after: int) -> AsyncIterator[bytes]:
    heartbeat = ctx.settings.cases.heartbeat_s
    yield b"retry: 2000\n: connected\n\n"
    while not await request.is_disconnected():
        news = feed.waiter()
        async with ctx.pool.acquire() as conn:
            events = await events_since(conn, after_id=after, scope=scope, limit=BATCH)
        for event_id, data in events:
            yield _frame(event_id, data)
            after = event_id
        if len(events) == BATCH:
            continue
        if not await feed.wait(news, heartbeat):
            yield b": heartbeat\n\n"


@router.get("/cases/events", summary="Live feed of new and changed cases (text/event-stream)")
async def get_events(
    request: Request, ctx: Ctx, principal: SignedIn,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[int | None, Query(ge=0, description="resume after this event id (as Last-Event-ID)")] = None,
) -> StreamingResponse:
    """``case`` events {id, case_no, state, action, kind, classes, grid_code, district, department, at}."""
    scope = scope_of(principal)
    feed = await case_feed(request.app, ctx)
    after = since
    if last_event_id is not None:
        with contextlib.suppress(ValueError):
            after = max(0, int(last_event_id.strip()))
    if after is None:
        async with ctx.pool.acquire() as conn:
            after = await last_event_id_now(conn)
    return StreamingResponse(_stream(request, ctx, feed, scope, after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})



