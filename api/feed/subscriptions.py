"""``/subscriptions``: webhooks for layers' mutations (admin only). The secret that signs deliveries
is returned once, in the 201 answer to ``POST /subscriptions``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import AdminDep
from api.context import AppContext, get_context
from api.ogc.bodies import read_json_body
from api.ogc.links import JSON, base_url, link
from feed.cursor import Cursor, parse_cursor
from feed.errors import InvalidSubscription
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
from layers.query.instants import rfc3339

router = APIRouter(tags=["feed"])
Ctx = Annotated[AppContext, Depends(get_context)]
FIELDS = {"url", "layers", "ops", "since", "owner", "secret"}


def _doc(request: Request, sub: Subscription, **extra: Any) -> dict[str, Any]:
    d = dataclasses.asdict(sub)
    for key in ("next_attempt", "last_delivered_at", "created_at"):
        d[key] = rfc3339(d[key]) if d[key] is not None else None
    doc = {
        "id": d["id"], "url": d["url"], "layers": list(d["layers"]), "ops": list(d["ops"]), "cursor": d["cursor"],
        "state": d["state"], "failures": d["failures"], "nextAttempt": d["next_attempt"],
        "lastError": d["last_error"], "lastDeliveredAt": d["last_delivered_at"], "owner": d["created_by"],
        "createdAt": d["created_at"],
    }
    doc.update(extra)
    doc["links"] = [link(f"{base_url(request)}/subscriptions/{sub.id}", "self", JSON)]
    return doc


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


def _strings(body: dict[str, Any], key: str, default: list[str] | None = None) -> list[str]:
    value = body.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidSubscription(f"{key} must be a list of strings")
    return value


@router.post("/subscriptions", status_code=201, summary="Register a webhook for layers' mutations (admin)")
async def post_subscription(request: Request, ctx: Ctx, admin: AdminDep) -> Response:
    """Body: {url, layers: [...], ops?: [insert|update|retire], since?: cursor|now (default now), owner?, secret?}."""
    body = await read_json_body(request, ctx.settings.api.max_body_bytes)
    if not isinstance(body, dict) or set(body) - FIELDS or not isinstance(body.get("url"), str):
        optional = ", ".join(sorted(FIELDS - {"url", "layers"}))
        raise InvalidSubscription(f"the body is a JSON object with url, layers and optionally {optional}")
    layers = _strings(body, "layers")
    ops = _strings(body, "ops", list(OPERATIONS))
    owner_name = body.get("owner", admin.name)
    secret = body.get("secret")
    if not isinstance(owner_name, str) or (secret is not None and (not isinstance(secret, str) or len(secret) < 16)):
        raise InvalidSubscription("owner is a principal's name; secret, if given, at least 16 characters")
    since = body.get("since", "now")
    async with ctx.pool.acquire() as conn:
        owner = await owner_principal(conn, owner_name)
        if owner is None:
            raise InvalidSubscription(f"there is no active principal {owner_name!r}")
        check_request(ctx.registry, owner, url=body["url"], layers=layers, ops=ops)
        start = Cursor.after_commit(await head_seq(conn)) if since == "now" else parse_cursor(str(since))
        sub, secret = await create_subscription(conn, url=body["url"], layers=layers, ops=ops, owner=owner.name,
                                                start=start, secret=secret)
    location = f"{base_url(request)}/subscriptions/{sub.id}"
    return _json(_doc(request, sub, secret=secret), 201, {"Location": location})


@router.get("/subscriptions", summary="Webhook subscriptions (admin)")
async def get_subscriptions(request: Request, ctx: Ctx, admin: AdminDep) -> Response:
    """Every subscription: state, cursor, failures, last error."""
    async with ctx.pool.acquire() as conn:
        subs = await list_subscriptions(conn)
    return _json({"subscriptions": [_doc(request, s) for s in subs]})


@router.get("/subscriptions/{sub_id}", summary="One subscription and its recent deliveries (admin)")
async def get_one(request: Request, sub_id: int, ctx: Ctx, admin: AdminDep) -> Response:
    """State, cursor, last error, and the ten newest delivery attempts."""
    async with ctx.pool.acquire() as conn:
        sub = await get_subscription(conn, sub_id)
        log = await recent_deliveries(conn, sub_id)
    deliveries = [{**d, "attempted_at": rfc3339(d["attempted_at"])} for d in log]
    return _json(_doc(request, sub, deliveries=deliveries))


@router.post("/subscriptions/{sub_id}/resume", summary="Resume a paused subscription from its cursor (admin)")
async def resume(request: Request, sub_id: int, ctx: Ctx, admin: AdminDep) -> Response:
    """Active again, failure count cleared, due at once; it continues from its stored cursor."""
    async with ctx.pool.acquire() as conn:
        sub = await set_state(conn, sub_id, "active")
    _wake(request)
    return _json(_doc(request, sub))


@router.post("/subscriptions/{sub_id}/pause", summary="Pause a subscription (admin)")
async def pause(request: Request, sub_id: int, ctx: Ctx, admin: AdminDep) -> Response:
    """No deliveries until resumed; the cursor stays where it is."""
    async with ctx.pool.acquire() as conn:
        sub = await set_state(conn, sub_id, "paused")
    return _json(_doc(request, sub))


@router.delete("/subscriptions/{sub_id}", status_code=204, summary="Delete a subscription (admin)")
async def delete(sub_id: int, ctx: Ctx, admin: AdminDep) -> Response:
    """No more deliveries, ever; the delivery log stays."""
    async with ctx.pool.acquire() as conn:
        await delete_subscription(conn, sub_id)
    return Response(status_code=204)


def _wake(request: Request) -> None:
    news = getattr(request.app.state, "feed_news", None)
    if news is not None:
        news.wake()
