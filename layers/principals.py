"""Who may do what: users and systems, their roles, per-layer grants, and API keys.

API keys are random 256-bit secrets; only their SHA-256 is stored (a slow hash
adds nothing for secrets that cannot be guessed). User passwords use Argon2.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from layers.model import ACCESS_RANK, Layer

Role = Literal["viewer", "editor", "admin"]
KEY_PREFIX = "om_"
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``grants`` are layer ids or glob patterns (``pipeline_*``)."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    grants: frozenset[str] = field(default_factory=frozenset)
    kind: str = "anonymous"

    @property
    def is_anonymous(self) -> bool:
        """Whether nobody signed in."""
        return self.kind == "anonymous"

    @property
    def is_admin(self) -> bool:
        """Whether the principal holds the admin role."""
        return "admin" in self.roles

    def granted(self, layer_id: str) -> bool:
        """Whether one of the principal's grant patterns (fnmatch) names ``layer_id``."""
        return any(fnmatch.fnmatchcase(layer_id, g) for g in self.grants)

    def can_read(self, layer: Layer) -> bool:
        """public: anyone; internal: any signed-in role; restricted: admin or a grant."""
        if layer.access == "public" or self.is_admin:
            return True
        if layer.access == "internal":
            return bool(self.roles) or self.granted(layer.id)
        return self.granted(layer.id)

    def can_write(self, layer: Layer) -> bool:
        """Editors write what they can read; admins write everything."""
        if self.is_admin:
            return True
        return "editor" in self.roles and self.can_read(layer)

    def clearance(self) -> str:
        """The highest access level the principal reads without a per-layer grant."""
        if self.is_admin:
            return "restricted"
        return "internal" if self.roles else "public"


ANONYMOUS = Principal(name="anonymous")
assert set(ACCESS_RANK) == {"public", "internal", "restricted"}


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is stored (the key itself never is)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """(key to show once, its short public prefix)."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


async def create_principal(
    conn: asyncpg.Connection, *, name: str, kind: Literal["user", "system"], roles: list[str],
    grants: list[str] | None = None, password: str | None = None, display_name: str | None = None,
) -> int:
    """Create or update a principal by name; returns its id."""
    pw_hash = _hasher.hash(password) if password else None
    pid: int = await conn.fetchval(
        """
        INSERT INTO onemap.principals (name, kind, display_name, password_hash, roles, grants)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, display_name = EXCLUDED.display_name,
          password_hash = coalesce(EXCLUDED.password_hash, onemap.principals.password_hash),
          roles = EXCLUDED.roles, grants = EXCLUDED.grants, disabled = false
        RETURNING id
        """,
        name, kind, display_name, pw_hash, roles, grants or [],
    )
    return pid


async def issue_api_key(
    conn: asyncpg.Connection, *, principal_id: int, label: str | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Create an API key for a principal. The key is returned once and never stored."""
    key, prefix = new_api_key()
    await conn.execute(
        "INSERT INTO onemap.api_keys (principal_id, prefix, key_hash, label, expires_at) VALUES ($1, $2, $3, $4, $5)",
        principal_id, prefix, hash_key(key), label, expires_at,
    )
    return key


def _principal_from(row: asyncpg.Record) -> Principal:
    return Principal(
        name=row["name"], roles=frozenset(row["roles"]), grants=frozenset(row["grants"]), kind=row["kind"]
    )


async def principal_for_key(conn: asyncpg.Connection, key: str) -> Principal | None:
    """The principal an API key belongs to, or None if unknown, revoked, expired or disabled."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = await conn.fetchrow(
        """
        SELECT p.name, p.kind, p.roles, p.grants FROM onemap.api_keys k
        JOIN onemap.principals p ON p.id = k.principal_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
          AND NOT p.disabled
        """,
        hash_key(key),
    )
    return _principal_from(row) if row else None


async def principal_for_password(conn: asyncpg.Connection, name: str, password: str) -> Principal | None:
    """The user for a name and password, or None. Takes the same time for unknown names."""
    row = await conn.fetchrow(
        "SELECT name, kind, roles, grants, password_hash FROM onemap.principals "
        "WHERE name = $1 AND NOT disabled AND kind = 'user'",
        name,
    )
    stored = row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return _principal_from(row) if row else None


async def revoke_key(conn: asyncpg.Connection, key: str) -> bool:
    """Revoke API key ``key``; returns whether a live key was revoked."""
    done = await conn.execute(
        "UPDATE onemap.api_keys SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL", hash_key(key)
    )
    return str(done).endswith(" 1")


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
