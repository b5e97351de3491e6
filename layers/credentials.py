"""Ending credentials: signed-in sessions (JWT) revoked one by one or all at once, API keys rotated.

A session token carries its own id (``jti``) and the user's ``token_version``. Sign-out writes the
``jti`` to ``onemap.revoked_tokens`` (kept until the token would have expired anyway); an admin
revoking every session of a user bumps ``onemap.principals.token_version``, which no older token
carries. :func:`session_valid` checks both in one primary-key read.

Rotating an API key issues a new key for the same principal and label and lets the old one run
until a grace period ends (its ``expires_at``), so the other system can switch without downtime.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from layers.errors import LayerError
from layers.principals import issue_api_key


class UnknownKey(LayerError):
    """No live API key has this prefix (or several do)."""

    status = 404
    type_slug = "unknown-key"
    title = "No such API key"


async def token_version(conn: asyncpg.Connection, name: str) -> int:
    """The current session-token version of a user (0 for a name that does not exist)."""
    version = await conn.fetchval("SELECT token_version FROM onemap.principals WHERE name = $1", name)
    return int(version or 0)


async def session_valid(conn: asyncpg.Connection, *, name: str, jti: str, version: int) -> bool:
    """Whether a session token is still good: user enabled, version current, ``jti`` not revoked."""
    ok: bool | None = await conn.fetchval(
        """
        SELECT p.token_version = $3 AND NOT p.disabled
               AND NOT EXISTS (SELECT 1 FROM onemap.revoked_tokens r WHERE r.jti = $2)
        FROM onemap.principals p WHERE p.name = $1
        """,
        name, jti, version,
    )
    return bool(ok)


async def revoke_session(conn: asyncpg.Connection, *, jti: str, expires_at: dt.datetime) -> None:
    """Revoke one session token (sign-out); rows for tokens past their expiry are cleared."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO onemap.revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            jti, expires_at,
        )
        await conn.execute("DELETE FROM onemap.revoked_tokens WHERE expires_at < now()")


async def revoke_all_sessions(conn: asyncpg.Connection, name: str) -> bool:
    """Revoke every session token of a user issued so far; returns whether the user exists."""
    done = await conn.execute(
        "UPDATE onemap.principals SET token_version = token_version + 1 WHERE name = $1", name)
    return str(done).endswith(" 1")


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotated key: the new key (shown once), and until when the old one still works."""

    new_key: str
    principal: str
    old_prefix: str
    old_valid_until: dt.datetime


async def _live_key(conn: asyncpg.Connection, prefix: str) -> asyncpg.Record:
    rows = await conn.fetch(
        """
        SELECT k.id, k.principal_id, k.label, k.expires_at, p.name FROM onemap.api_keys k
        JOIN onemap.principals p ON p.id = k.principal_id
        WHERE k.prefix = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
        """,
        prefix,
    )
    if len(rows) != 1:
        raise UnknownKey(f"no live API key has the prefix {prefix!r}" if not rows
                         else f"several live keys share the prefix {prefix!r}; revoke by key instead")
    return rows[0]


async def rotate_key(conn: asyncpg.Connection, *, prefix: str, grace: dt.timedelta) -> Rotation:
    """Issue a new key like the live key ``om_<prefix>_…``; the old one expires after ``grace``."""
    async with conn.transaction():
        old = await _live_key(conn, prefix)
        new_key = await issue_api_key(conn, principal_id=old["principal_id"], label=old["label"],
                                      expires_at=old["expires_at"])
        until: dt.datetime = await conn.fetchval(
            """
            UPDATE onemap.api_keys SET expires_at = least(coalesce(expires_at, 'infinity'), now() + $2::interval),
              replaced_by = (SELECT id FROM onemap.api_keys WHERE prefix = $3)
            WHERE id = $1 RETURNING expires_at
            """,
            old["id"], grace, new_key.split("_")[1],
        )
    return Rotation(new_key=new_key, principal=old["name"], old_prefix=prefix, old_valid_until=until)


async def revoke_key_by_prefix(conn: asyncpg.Connection, prefix: str) -> str:
    """Revoke the live key ``om_<prefix>_…`` at once; returns its principal's name."""
    async with conn.transaction():
        key = await _live_key(conn, prefix)
        await conn.execute("UPDATE onemap.api_keys SET revoked_at = now() WHERE id = $1", key["id"])
    return str(key["name"])
