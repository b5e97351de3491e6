"""Recording what the API did for the audit log: reads of non-public layers and security events.

Every call here only appends to the process's :class:`~layers.audit_queue.AuditQueue` (no I/O);
reads of public layers return after one attribute test, so the hot public paths (and the tile
fast lane, which serves only anonymous public tiles) pay nothing measurable.

Who is the signed-in principal (``request.state.principal``) and how they proved it
(``request.state.credential``: ``key:<prefix>``, ``jwt:<jti>``, ``basic:password``), both set by
:mod:`api.auth`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request

from api.context import AppContext
from layers.audit import AuditEvent
from layers.audit_queue import AuditQueue
from layers.model import Layer
from tiles.feature_count import mvt_feature_counts

_DETAIL_PARAMS = ("bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "properties", "limit", "offset",
                  "sortby", "collections", "q")


def _queue(ctx: AppContext | None) -> AuditQueue | None:
    return getattr(ctx, "audit", None) if ctx is not None else None


def actor(request: Request) -> tuple[str, str | None]:
    """(who, how they proved it) for this request, as far as authentication got."""
    principal = getattr(request.state, "principal", None)
    credential = getattr(request.state, "credential", None)
    if principal is not None:
        return principal.name, credential
    return getattr(request.state, "claimed_name", None) or "anonymous", credential


def _path(request: Request) -> str:
    # The raw scope path (what request.url.path reads): building request.url costs more than the event.
    return str(request.scope["path"])


def client(request: Request) -> str | None:
    """The caller's address (uvicorn applies X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else None


def query_detail(request: Request, **extra: Any) -> dict[str, Any] | None:
    """The query parameters that shape what was read (values cut to 500 characters)."""
    params = request.query_params
    out: dict[str, Any] = {k: params[k][:500] for k in _DETAIL_PARAMS if k in params}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out or None


def sensitive(layers: Iterable[Layer]) -> list[Layer]:
    """The layers whose reads are logged: internal and restricted ones."""
    return [layer for layer in layers if layer.access != "public"]


def note_read(
    request: Request, ctx: AppContext, layer: Layer, *, kind: str, area: str | None, features: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Log one read of ``layer`` when it is internal or restricted (public reads return at once)."""
    if layer.access == "public":
        return
    queue = _queue(ctx)
    if queue is None:
        return
    who, credential = actor(request)
    queue.put(AuditEvent(kind=kind, actor=who, credential=credential, layer=layer.id, area=area,
                         features=features, status=200, path=_path(request), client=client(request),
                         detail=detail if detail is not None else query_detail(request)))


def note_tile_read(request: Request, ctx: AppContext, layers: Iterable[Layer], *, area: str, data: bytes,
                   source: str) -> None:
    """Log a tile answer for each non-public layer in it, with that layer's feature count."""
    chosen = sensitive(layers)
    if not chosen:
        return
    counts: Mapping[str, int] = mvt_feature_counts(data) if data and chosen[0].is_vector else {}
    for layer in chosen:
        note_read(request, ctx, layer, kind="read.tile", area=area,
                  features=counts.get(layer.id, 0) if layer.is_vector else None,
                  detail=query_detail(request, source=source))


def note_event(
    ctx: AppContext | None, request: Request | None, *, kind: str, who: str | None = None,
    status: int | None = None, layer: str | None = None, detail: dict[str, Any] | None = None,
    credential: str | None = None,
) -> None:
    """Log a security event (sign-in, refusal, key use, registration); written within moments."""
    queue = _queue(ctx)
    if queue is None:
        return
    claimed, how = actor(request) if request is not None else ("anonymous", None)
    queue.put(
        AuditEvent(kind=kind, actor=who or claimed, credential=credential or how, layer=layer, status=status,
                   path=_path(request) if request is not None else None,
                   client=client(request) if request is not None else None, detail=detail),
        urgent=True,
    )


def note_key_use(ctx: AppContext, request: Request, *, prefix: str, who: str) -> None:
    """Log an API key's first use in each ``ONEMAP_AUDIT_KEY_USE_PERIOD_SECONDS`` (per process)."""
    uses = ctx.key_uses
    if uses is None or not uses.due(prefix):
        return
    note_event(ctx, request, kind="auth.key_used", who=who, credential=f"key:{prefix}")
