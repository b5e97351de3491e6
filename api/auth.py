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
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from api.audit import note_event, note_key_use
from api.context import AppContext, get_context
from api.errors import Forbidden, NotAuthenticated, SignInLocked
from layers.credentials import session_valid
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


class HiddenLayer(UnknownLayer):
    """404 for a layer that exists but that the caller may not read (logged as a refusal)."""

    def __init__(self, layer_id: str) -> None:
        super().__init__(f"there is no collection {layer_id!r}")
        self.hidden_layer = layer_id


def issue_jwt(
    principal: Principal, *, key: str, ttl_minutes: int, version: int = 0
) -> tuple[str, dt.datetime]:
    """A signed session token carrying the principal's name, roles and grants; (token, expiry).

    It carries its own id (``jti``, for sign-out) and the user's token version (``ver``, which
    an admin bumps to revoke every session of the user).
    """
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=ttl_minutes)
    token = jwt.encode(
        {
            "sub": principal.name,
            "jti": secrets.token_urlsafe(16),
            "ver": version,
            "roles": sorted(principal.roles),
            "grants": sorted(principal.grants),
            "kind": principal.kind,
            "department": principal.department,
            "aud": JWT_AUDIENCE,
            "exp": expires,
            "iat": dt.datetime.now(dt.UTC),
        },
        key,
        algorithm=JWT_ALGORITHM,
    )
    return token, expires


def jwt_claims(token: str, key: str) -> dict[str, Any]:
    """The claims of a session token we signed (signature, audience, expiry and ``jti`` checked).

    Raises:
        NotAuthenticated: 401 for an expired, forged or pre-revocation (no ``jti``) token.
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE,
                                               options={"require": ["exp", "jti", "sub"]})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("the token has expired; sign in again",
                               headers={"WWW-Authenticate": INVALID_TOKEN}) from None
    except jwt.PyJWTError:
        raise NotAuthenticated("the token is not valid", headers={"WWW-Authenticate": INVALID_TOKEN}) from None
    return claims


async def _from_jwt(request: Request, ctx: AppContext, token: str) -> Principal:
    claims = jwt_claims(token, ctx.signing_key)
    request.state.credential = f"jwt:{claims['jti']}"
    request.state.claimed_name = str(claims["sub"])
    version = claims.get("ver", 0)
    # One primary-key read: sign-out, "revoke all sessions" and disabling a user act at once.
    async with ctx.pool.acquire() as conn:
        valid = await session_valid(conn, name=str(claims["sub"]), jti=str(claims["jti"]),
                                    version=version if isinstance(version, int) else -1)
    if not valid:
        raise NotAuthenticated("the token was revoked (signed out); sign in again",
                               headers={"WWW-Authenticate": INVALID_TOKEN})
    return Principal(
        name=str(claims["sub"]), roles=frozenset(claims.get("roles", [])),
        grants=frozenset(claims.get("grants", [])), kind=str(claims.get("kind", "user")),
        department=claims.get("department") or None,
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
        max_lock=dt.timedelta(minutes=max(api.sign_in_max_lockout_minutes, api.sign_in_lockout_minutes)),
    )


def _locked(until: dt.datetime) -> SignInLocked:
    wait = max(1, math.ceil((until - dt.datetime.now(dt.UTC)).total_seconds()))
    return SignInLocked(
        f"too many failed sign-ins for this name; try again after {until.isoformat(timespec='seconds')}",
        headers={"Retry-After": str(wait)},
    )


async def check_password(
    ctx: AppContext, name: str, password: str, *, cache: VerifiedPasswords | None = None,
    request: Request | None = None,
) -> Principal | None:
    """The user for a name and password, or None; the one password check, with lock-out.

    Sign-ins are audited: every failure and lock, and every success that needed Argon2 (a Basic
    client's cached repeat is not a new sign-in).

    Raises:
        SignInLocked: 429 when the name is locked (checked before the password, so a locked
            name cannot be probed), or when this failure locks it.
    """
    async with ctx.pool.acquire() as conn:
        account = await password_account(conn, name)
    via = "basic" if cache is not None else "form"
    if account.locked_until is not None:
        note_event(ctx, request, kind="auth.locked", who=name, status=429, credential=f"{via}:password",
                   detail={"locked_until": account.locked_until.isoformat()})
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
            note_event(ctx, request, kind="auth.sign_in_failed", who=name, status=429 if until else 401,
                       credential=f"{via}:password",
                       detail={"locked_until": until.isoformat()} if until is not None else None)
            if until is not None:
                raise _locked(until)
            return None
        if account.failures:
            await clear_failed_sign_ins(conn, name)
    if cache is not None and stored is not None:
        cache.remember(name, password, stored)
    note_event(ctx, request, kind="auth.sign_in", who=name, status=200, credential=f"{via}:password")
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


async def _from_key(request: Request, ctx: AppContext, key: str) -> Principal:
    # om_<prefix>_<secret>: the prefix is public (it names the key in logs and in `onemap token`).
    prefix = key[len(KEY_PREFIX):].split("_", 1)[0][:16]
    request.state.credential = f"key:{prefix}"
    async with ctx.pool.acquire() as conn:
        found = await principal_for_key(conn, key)
    if found is None:
        raise NotAuthenticated("unknown, revoked or expired API key", headers={"WWW-Authenticate": INVALID_TOKEN})
    note_key_use(ctx, request, prefix=prefix, who=found.name)
    return found


async def _from_basic(request: Request, ctx: AppContext, credentials: str) -> Principal:
    """The principal for Basic credentials: an API key as the password (any name), else name and password."""
    name, password = _basic_pair(credentials)
    if password.startswith(KEY_PREFIX):
        # The key alone identifies its principal; the name is whatever the client's form demanded.
        return await _from_key(request, ctx, password)
    request.state.claimed_name = name
    request.state.credential = "basic:password"
    principal = await check_password(ctx, name, password, cache=_verified_passwords(request, ctx), request=request)
    if principal is None:
        raise NotAuthenticated("wrong name or password")
    return principal


async def _authenticate(request: Request, ctx: AppContext) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        # The cookie a sign-in sets holds a JWT; kiosks and the map's tests put an API key there instead.
        cookie = request.cookies.get("onemap_token")
        return await _from_token(request, ctx, cookie) if cookie else ANONYMOUS
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and value:
        return await _from_basic(request, ctx, value)
    if scheme.lower() != "bearer" or not value:
        raise NotAuthenticated("use 'Authorization: Bearer <token or API key>' or HTTP Basic")
    return await _from_token(request, ctx, value)


async def _from_token(request: Request, ctx: AppContext, token: str) -> Principal:
    """The principal of a bearer token: an API key (``om_…``) or a JWT issued at sign-in."""
    if token.startswith(KEY_PREFIX):
        return await _from_key(request, ctx, token)
    return await _from_jwt(request, ctx, token)


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
    if layer is None:
        raise UnknownLayer(f"there is no collection {layer_id!r}")
    if not principal.can_read(layer):
        raise HiddenLayer(layer_id)  # the same 404, but the refusal is audited (api/errors.py)
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
