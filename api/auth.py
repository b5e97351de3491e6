"""Authentication and the one authorization dependency every path uses.

Bearer tokens are either API keys (``om_…``, stored hashed) for systems, or
short-lived JWTs issued to signed-in users. Restricted layers a caller may not
read are reported as absent (404), so their existence does not leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import jwt
from fastapi import Depends, Request

from api.context import AppContext, get_context
from api.errors import Forbidden, NotAuthenticated
from layers.errors import UnknownLayer
from layers.model import Layer
from layers.principals import ANONYMOUS, KEY_PREFIX, Principal, principal_for_key

JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "onemap"


def issue_jwt(principal: Principal, *, key: str, ttl_minutes: int) -> tuple[str, dt.datetime]:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=ttl_minutes)
    token = jwt.encode(
        {
            "sub": principal.name,
            "roles": sorted(principal.roles),
            "grants": sorted(principal.grants),
            "kind": principal.kind,
            "aud": JWT_AUDIENCE,
            "exp": expires,
            "iat": dt.datetime.now(dt.UTC),
        },
        key,
        algorithm=JWT_ALGORITHM,
    )
    return token, expires


def _from_jwt(token: str, key: str) -> Principal:
    try:
        claims = jwt.decode(token, key, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired; sign in again",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    except jwt.PyJWTError:
        raise NotAuthenticated("the token is not valid",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    return Principal(
        name=str(claims["sub"]), roles=frozenset(claims.get("roles", [])),
        grants=frozenset(claims.get("grants", [])), kind=str(claims.get("kind", "user")),
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'",
                                   headers={"WWW-Authenticate": "Bearer"})
        return token.strip()
    cookie = request.cookies.get("onemap_token")
    return cookie or None


async def current_principal(
    request: Request, ctx: Annotated[AppContext, Depends(get_context)]
) -> Principal:
    """The caller, or :data:`ANONYMOUS`. An invalid token is an error, never anonymous."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is None:
        principal = ANONYMOUS
    elif token.startswith(KEY_PREFIX):
        async with ctx.pool.acquire() as conn:
            found = await principal_for_key(conn, token)
        if found is None:
            raise NotAuthenticated("unknown, revoked or expired API key",
                                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        principal = found
    else:
        principal = _from_jwt(token, ctx.signing_key)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def readable_layer(ctx: AppContext, principal: Principal, layer_id: str) -> Layer:
    """The layer if the caller may read it; otherwise 404 exactly as for a missing layer."""
    layer = ctx.registry.find(layer_id)
    if layer is None or not principal.can_read(layer):
        raise UnknownLayer(f"there is no collection {layer_id!r}")
    return layer


def writable_layer(ctx: AppContext, principal: Principal, layer_id: str) -> Layer:
    """The layer if the caller may write it: 404 if unreadable, 401/403 if read-only."""
    layer = readable_layer(ctx, principal, layer_id)
    if not principal.can_write(layer):
        if principal.is_anonymous:
            raise NotAuthenticated("writing needs an editor token", headers={"WWW-Authenticate": "Bearer"})
        raise Forbidden(f"{principal.name} may read but not edit {layer_id}")
    return layer


async def collection_for_read(
    collectionId: str,
    ctx: Annotated[AppContext, Depends(get_context)],
    principal: PrincipalDep,
) -> Layer:
    """Dependency for ``/collections/{collectionId}/…`` read paths (features, tiles, styles, map)."""
    return readable_layer(ctx, principal, collectionId)


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        if principal.is_anonymous:
            raise NotAuthenticated("an admin token is required", headers={"WWW-Authenticate": "Bearer"})
        raise Forbidden("an admin role is required")
    return principal


ReadableCollection = Annotated[Layer, Depends(collection_for_read)]
AdminDep = Annotated[Principal, Depends(require_admin)]
