"""Authentication and the one authorization dependency every path uses.

A caller proves who they are in one of three ways, all leading to the same
:class:`~layers.principals.Principal` and so to the same access rules:

- ``Authorization: Bearer`` with an API key (``om_…``, stored hashed) for systems, or a
  short-lived JWT issued at sign-in (also read from the ``onemap_token`` cookie);
- ``Authorization: Basic`` (RFC 7617), for desktop clients that cannot send a bearer
  header (QGIS, ArcGIS Pro, GDAL's ``GDAL_HTTP_USERPWD``, OWSLib's ``auth=``): a user's
  name and password, or any name with an API key as the password.

Passwords, from the sign-in form or Basic, go through :func:`check_password`, which
applies the lock-out. Restricted layers a caller may not read are reported as absent
(404), so their existence does not leak.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from typing import Annotated

import jwt
from fastapi import Depends, Request

from api.context import AppContext, get_context
from api.errors import Forbidden, NotAuthenticated, SignInLocked
from layers.errors import UnknownLayer
from layers.model import Layer
from layers.principals import (
    ANONYMOUS,
    KEY_PREFIX,
    LockoutPolicy,
    Principal,
    clear_failed_sign_ins,
    password_account,
    principal_for_key,
    record_failed_sign_in,
    verify_password,
)

JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "onemap"
INVALID_TOKEN = 'Bearer error="invalid_token"'


def issue_jwt(principal: Principal, *, key: str, ttl_minutes: int) -> tuple[str, dt.datetime]:
    """A signed session token carrying the principal's name, roles and grants; (token, expiry)."""
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
                               headers={"WWW-Authenticate": INVALID_TOKEN}) from None
    except jwt.PyJWTError:
        raise NotAuthenticated("the token is not valid", headers={"WWW-Authenticate": INVALID_TOKEN}) from None
    return Principal(
        name=str(claims["sub"]), roles=frozenset(claims.get("roles", [])),
        grants=frozenset(claims.get("grants", [])), kind=str(claims.get("kind", "user")),
    )


class VerifiedPasswords:
    """Name and password pairs Argon2 verified recently, so Basic clients skip it for a while.

    QGIS sends the same Basic credentials with every page and tile; Argon2 costs tens of ms each.
    Entries are keyed by an HMAC of the pair under a per-process random key (nothing in memory
    can be checked against a guess without that key) and hold the password hash they were verified
    against. A hit still needs the account read on every request to show that same hash, so a
    disabled user, a changed password or new roles take effect at once, in every process.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 4096) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    def _id(self, name: str, password: str) -> bytes:
        pair = name.encode() + b"\0" + password.encode()
        return hmac.new(self._key, pair, hashlib.sha256).digest()

    def holds(self, name: str, password: str, password_hash: str) -> bool:
        """Whether this pair was verified against ``password_hash`` less than ``ttl`` seconds ago."""
        entry = self._entries.get(self._id(name, password))
        if entry is None:
            return False
        verified_hash, expires = entry
        return expires > time.monotonic() and hmac.compare_digest(verified_hash, password_hash)

    def remember(self, name: str, password: str, password_hash: str) -> None:
        """Note a successful Argon2 verification (the oldest entry goes when full)."""
        key = self._id(name, password)
        self._entries[key] = (password_hash, time.monotonic() + self.ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, name: str, password: str) -> None:
        """Drop a pair (its check failed, so it must not stay valid)."""
        self._entries.pop(self._id(name, password), None)


def lockout_policy(ctx: AppContext) -> LockoutPolicy:
    """The lock-out rule from the settings (``ONEMAP_SIGN_IN_*``)."""
    api = ctx.settings.api
    return LockoutPolicy(
        failures=api.sign_in_max_failures,
        window=dt.timedelta(minutes=api.sign_in_failure_window_minutes),
        lock=dt.timedelta(minutes=api.sign_in_lockout_minutes),
    )


def _locked(until: dt.datetime) -> SignInLocked:
    wait = max(1, math.ceil((until - dt.datetime.now(dt.UTC)).total_seconds()))
    return SignInLocked(
        f"too many failed sign-ins for this name; try again after {until.isoformat(timespec='seconds')}",
        headers={"Retry-After": str(wait)},
    )


async def check_password(
    ctx: AppContext, name: str, password: str, *, cache: VerifiedPasswords | None = None
) -> Principal | None:
    """The user for a name and password, or None; the one password check, with lock-out.

    Raises:
        SignInLocked: 429 when the name is locked (checked before the password, so a locked
            name cannot be probed), or when this failure locks it.
    """
    async with ctx.pool.acquire() as conn:
        account = await password_account(conn, name)
    if account.locked_until is not None:
        raise _locked(account.locked_until)
    stored = account.password_hash
    if cache is not None and stored is not None and cache.holds(name, password, stored):
        return account.principal
    # Off the event loop: Argon2 holds a core for tens of ms, and argon2-cffi releases the GIL.
    ok = await asyncio.to_thread(verify_password, stored, password)
    async with ctx.pool.acquire() as conn:
        if not ok or account.principal is None:
            if cache is not None:
                cache.forget(name, password)
            until = await record_failed_sign_in(conn, name, policy=lockout_policy(ctx))
            if until is not None:
                raise _locked(until)
            return None
        if account.failures:
            await clear_failed_sign_ins(conn, name)
    if cache is not None and stored is not None:
        cache.remember(name, password, stored)
    return account.principal


def _verified_passwords(request: Request, ctx: AppContext) -> VerifiedPasswords | None:
    """This app's Basic cache (made on first use), or None when the settings turn it off."""
    ttl = ctx.settings.api.basic_auth_cache_seconds
    if ttl <= 0:
        return None
    cache: VerifiedPasswords | None = getattr(request.app.state, "verified_passwords", None)
    if cache is None:
        cache = VerifiedPasswords(ttl)
        request.app.state.verified_passwords = cache
    return cache


def _basic_pair(credentials: str) -> tuple[str, str]:
    """(name, password) from RFC 7617 credentials: UTF-8 as we announce, Latin-1 as old clients send."""
    try:
        raw = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise NotAuthenticated("the Basic credentials are not valid base64") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    name, colon, password = text.partition(":")
    if not colon or not password:
        raise NotAuthenticated("Basic credentials are 'name:password' (or any name and an API key)")
    return name, password


async def _from_key(ctx: AppContext, key: str) -> Principal:
    async with ctx.pool.acquire() as conn:
        found = await principal_for_key(conn, key)
    if found is None:
        raise NotAuthenticated("unknown, revoked or expired API key", headers={"WWW-Authenticate": INVALID_TOKEN})
    return found


async def _from_basic(request: Request, ctx: AppContext, credentials: str) -> Principal:
    """The principal for Basic credentials: an API key as the password (any name), else name and password."""
    name, password = _basic_pair(credentials)
    if password.startswith(KEY_PREFIX):
        # The key alone identifies its principal; the name is whatever the client's form demanded.
        return await _from_key(ctx, password)
    principal = await check_password(ctx, name, password, cache=_verified_passwords(request, ctx))
    if principal is None:
        raise NotAuthenticated("wrong name or password")
    return principal


async def _authenticate(request: Request, ctx: AppContext) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        # The cookie a sign-in sets holds a JWT; kiosks and the map's tests put an API key there instead.
        cookie = request.cookies.get("onemap_token")
        return await _from_token(ctx, cookie) if cookie else ANONYMOUS
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and value:
        return await _from_basic(request, ctx, value)
    if scheme.lower() != "bearer" or not value:
        raise NotAuthenticated("use 'Authorization: Bearer <token or API key>' or HTTP Basic")
    return await _from_token(ctx, value)


async def _from_token(ctx: AppContext, token: str) -> Principal:
    """The principal of a bearer token: an API key (``om_…``) or a JWT issued at sign-in."""
    return await _from_key(ctx, token) if token.startswith(KEY_PREFIX) else _from_jwt(token, ctx.signing_key)


async def current_principal(
    request: Request, ctx: Annotated[AppContext, Depends(get_context)]
) -> Principal:
    """The caller, or :data:`ANONYMOUS`. Invalid credentials are an error, never anonymous."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await _authenticate(request, ctx)
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
            raise NotAuthenticated("writing needs an editor's API key, token, or name and password")
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
    """Dependency for admin-only routes: 401 for anonymous callers, 403 for everyone else."""
    if not principal.is_admin:
        if principal.is_anonymous:
            raise NotAuthenticated("an admin's API key, token, or name and password is required")
        raise Forbidden("an admin role is required")
    return principal


ReadableCollection = Annotated[Layer, Depends(collection_for_read)]
AdminDep = Annotated[Principal, Depends(require_admin)]
