"""``onemap subscription create | list | show | pause | resume | delete | run-once``: webhook
subscriptions from a shell (the CLI is trusted as an admin, as the other admin commands are)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from api.audit_cli import record, with_conn
from api.settings import load_settings
from feed.cursor import Cursor, parse_cursor
from feed.delivery import run_once
from feed.errors import FeedError
from feed.pages import OPERATIONS, head_seq
from feed.subscriptions import (
    Subscription,
    check_request,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    owner_principal,
    recent_deliveries,
    set_state,
)
from layers.db import create_pool, resolve_database_url
from layers.registry import Registry

subscription_app = typer.Typer(help="Webhook subscriptions to the change feed (signed, retried deliveries).",
                               no_args_is_help=True)
T = TypeVar("T")


def _show(sub: Subscription, **extra: Any) -> None:
    doc = {"id": sub.id, "url": sub.url, "layers": list(sub.layers), "ops": list(sub.ops), "cursor": sub.cursor,
           "state": sub.state, "failures": sub.failures, "last_error": sub.last_error, "owner": sub.created_by,
           "next_attempt": sub.next_attempt.isoformat(), **extra}
    typer.echo(json.dumps(doc, ensure_ascii=False, default=str))


def _guarded(job: Callable[[Any], Awaitable[T]]) -> T:
    try:
        return with_conn(job)
    except FeedError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@subscription_app.command("create")
def create(
    url: Annotated[str, typer.Option(help="where deliveries are POSTed (http:// or https://)")],
    layer: Annotated[list[str], typer.Option(help="a collection id (repeat for several)")],
    owner: Annotated[str, typer.Option(help="the principal whose read access applies")],
    op: Annotated[list[str] | None, typer.Option(help="insert, update or retire (repeat; default all)")] = None,
    since: Annotated[str, typer.Option(help="start after this cursor; 'now' (default) or '0' for all history")] = "now",
    secret: Annotated[str | None, typer.Option(help="signing secret (default: a new random one)")] = None,
) -> None:
    """Register a webhook; prints it with its signing secret (shown only now)."""
    async def go(conn: Any) -> None:
        principal = await owner_principal(conn, owner)
        if principal is None:
            raise FeedError(f"there is no active principal {owner!r}")
        ops = op or list(OPERATIONS)
        check_request(await Registry.load(conn), principal, url=url, layers=layer, ops=ops)
        start = Cursor.after_commit(await head_seq(conn)) if since == "now" else parse_cursor(since)
        sub, key = await create_subscription(conn, url=url, layers=layer, ops=ops, owner=owner, start=start,
                                             secret=secret)
        await record(conn, "subscription.created", detail={"id": sub.id, "url": url, "layers": layer})
        _show(sub, secret=key)

    _guarded(go)


@subscription_app.command("list")
def list_() -> None:
    """Every subscription, one JSON line each."""
    async def go(conn: Any) -> None:
        for sub in await list_subscriptions(conn):
            _show(sub)

    _guarded(go)


@subscription_app.command("show")
def show(sub_id: int) -> None:
    """One subscription and its newest delivery attempts."""
    async def go(conn: Any) -> None:
        _show(await get_subscription(conn, sub_id), deliveries=await recent_deliveries(conn, sub_id))

    _guarded(go)


def _set(sub_id: int, state: str) -> None:
    async def go(conn: Any) -> None:
        sub = await set_state(conn, sub_id, state)
        await record(conn, f"subscription.{'resumed' if state == 'active' else 'paused'}", detail={"id": sub_id})
        _show(sub)

    _guarded(go)


@subscription_app.command("pause")
def pause(sub_id: int) -> None:
    """Stop deliveries; the cursor stays."""
    _set(sub_id, "paused")


@subscription_app.command("resume")
def resume(sub_id: int) -> None:
    """Deliver again from the stored cursor (failure count cleared)."""
    _set(sub_id, "active")


@subscription_app.command("delete")
def delete(sub_id: int) -> None:
    """No more deliveries, ever (the delivery log stays)."""
    async def go(conn: Any) -> None:
        await delete_subscription(conn, sub_id)
        await record(conn, "subscription.deleted", detail={"id": sub_id})
        typer.echo(f"subscription {sub_id} deleted")

    _guarded(go)


@subscription_app.command("run-once")
def run_once_(sub_id: Annotated[int | None, typer.Option("--id", help="only this subscription")] = None) -> None:
    """Deliver everything due now (for cron and tests), then exit; prints one line per attempt."""
    settings = load_settings()

    async def go() -> None:
        pool = await create_pool(resolve_database_url(settings.db), settings.db)
        try:
            async with pool.acquire() as conn:
                registry = await Registry.load(conn)
            for a in await run_once(pool, lambda: registry, settings.feed, only=sub_id):
                typer.echo(json.dumps({"subscription": a.subscription, "mutations": a.mutations, "ok": a.ok}))
        finally:
            await pool.close()

    asyncio.run(go())
