"""Signing in and out: ``POST /auth/token`` (OAuth2 password form → JWT) and ``POST /auth/logout``.

Browsers may ask for the token as an HttpOnly, SameSite=Strict cookie
(``onemap_token``, read by :mod:`api.auth`); other systems use the returned
bearer token or an API key. Desktop clients may skip this and send HTTP Basic on every
request instead (see :mod:`api.auth`); both check passwords, and count failures towards the
lock-out, through :func:`api.auth.check_password`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from api.audit import note_event
from api.auth import AdminDep, PrincipalDep, check_password, issue_jwt, jwt_claims
from api.context import AppContext, get_context
from api.errors import ApiError, InvalidParameter, NotAuthenticated, SignInLocked
from api.ogc import html
from layers.credentials import revoke_all_sessions, revoke_session, token_version
from layers.principals import KEY_PREFIX

router = APIRouter(tags=["auth"])
Ctx = Annotated[AppContext, Depends(get_context)]
COOKIE = "onemap_token"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let phishing pages borrow our sign-in.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/auth/token", summary="Sign in: OAuth2 password form → bearer token (JWT)")
async def token(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    grant_type: Annotated[str | None, Form()] = None,
    cookie: Annotated[bool, Form()] = False,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Check a name and password and answer a JWT (JSON), or set it as a cookie and redirect.

    N failures within M minutes lock the name for K minutes (``ONEMAP_SIGN_IN_*``): 429 with
    ``Retry-After``, even for the right password, until the lock ends.
    """
    if grant_type not in (None, "password"):
        raise InvalidParameter("grant_type must be 'password'", extra={"parameter": "grant_type"})
    try:
        principal = await check_password(ctx, username, password, request=request)
    except SignInLocked:
        if cookie:
            return html.render(request, "sign_in.html.j2", status=429, error=True, locked=True,
                               next=_safe_next(next))
        raise
    if principal is None:
        if cookie:
            return html.render(request, "sign_in.html.j2", status=401, error=True, next=_safe_next(next))
        # No Basic challenge: this is the sign-in form's answer, and a browser would pop a dialog.
        raise NotAuthenticated("wrong name or password", offer_basic=False)
    async with ctx.pool.acquire() as conn:
        version = await token_version(conn, principal.name)
    jwt, _expires = issue_jwt(principal, key=ctx.signing_key, ttl_minutes=ctx.settings.api.token_ttl_minutes,
                              version=version)
    max_age = ctx.settings.api.token_ttl_minutes * 60
    if cookie:
        response: Response = RedirectResponse(_safe_next(next), status_code=303)
    else:
        body = {
            "access_token": jwt,
            "token_type": "bearer",
            "expires_in": max_age,
            "roles": sorted(principal.roles),
        }
        response = Response(
            orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"}
        )
    if cookie:
        response.set_cookie(
            COOKIE,
            jwt,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


@router.get("/auth/sign-in", summary="Sign-in page", include_in_schema=False)
async def sign_in_page(request: Request) -> Response:
    """The HTML sign-in form; ``next`` is where to go afterwards (same-site paths only)."""
    return html.render(
        request, "sign_in.html.j2", error=False, next=_safe_next(request.query_params.get("next"))
    )


async def _revoke_presented_token(request: Request, ctx: AppContext) -> None:
    """Revoke the session token the request carries (bearer header or cookie), if it is one of ours."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE)
    if not token or token.startswith(KEY_PREFIX):
        return  # API keys are revoked with `onemap token revoke`, not by signing out
    try:
        claims = jwt_claims(token, ctx.signing_key)
    except NotAuthenticated:
        return  # expired or foreign: nothing left to revoke
    expires = dt.datetime.fromtimestamp(float(str(claims["exp"])), dt.UTC)
    async with ctx.pool.acquire() as conn:
        await revoke_session(conn, jti=str(claims["jti"]), expires_at=expires)
    note_event(ctx, request, kind="auth.sign_out", who=str(claims["sub"]), credential=f"jwt:{claims['jti']}")


@router.post("/auth/logout", summary="Sign out: revokes the session token and clears the cookie")
async def logout(request: Request, ctx: Ctx) -> Response:
    """Revoke the session token (it is refused from now on, in every process) and clear the cookie:
    204, or a redirect home for a browser form."""
    await _revoke_presented_token(request, ctx)
    wants_page = "text/html" in request.headers.get("accept", "")
    response: Response = RedirectResponse("/", status_code=303) if wants_page else Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/auth/me", summary="Who am I (roles and grants)")
async def me(principal: PrincipalDep) -> Response:
    """The caller as the server sees them: name, kind, roles, grants (handy to test credentials)."""
    body = {
        "name": principal.name,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "grants": sorted(principal.grants),
        "department": principal.department,  # a case handler's 处置部门 (the case pages read it)
        "anonymous": principal.is_anonymous,
    }
    return Response(orjson.dumps(body), media_type="application/json")


class NoSuchPrincipal(ApiError):
    """404: no user or system of that name."""

    status = 404
    type_slug = "unknown-principal"
    title = "No such user"


@router.post("/auth/users/{name}/revoke-tokens", status_code=204, summary="Revoke every session of a user (admin)")
async def revoke_tokens(name: str, request: Request, ctx: Ctx, admin: AdminDep) -> Response:
    """End every session token (JWT) ``name`` holds, in every process; they must sign in again."""
    async with ctx.pool.acquire() as conn:
        found = await revoke_all_sessions(conn, name)
    if not found:
        raise NoSuchPrincipal(f"there is no user {name!r}")
    note_event(ctx, request, kind="admin.sessions_revoked", who=admin.name, detail={"principal": name})
    return Response(status_code=204)
