"""Who may do what: users and systems, their roles, per-layer grants, and API keys.

API keys are random 256-bit secrets; only their SHA-256 is stored (a slow hash
adds nothing for secrets that cannot be guessed). User passwords use Argon2.

Failed password checks are counted per name in ``onemap.sign_in_failures``: a
:class:`LockoutPolicy` turns N failures within a window into a lock, shared by every
process and by every way a password arrives (the sign-in form, HTTP Basic).
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

Role = Literal["viewer", "editor", "admin", "inspector", "operator", "supervisor", "dispatcher", "handler", "leader"]
ROLES: tuple[str, ...] = ("viewer", "editor", "admin", "inspector", "operator", "supervisor", "dispatcher", "handler",
                          "leader")
# The 数字城管 roles (docs/domain.md §2.3). Each of these sees every case, so each is granted the
# case layer and what locating a case reads; a handler sees only its department's cases, through
# the /cases endpoints, so it gets no grant on the layer itself.
CASE_ROLES = frozenset({"inspector", "operator", "supervisor", "dispatcher", "handler", "leader"})
_ROLE_GRANTS: dict[str, frozenset[str]] = {
    role: frozenset({"city_cases"}) for role in ("inspector", "operator", "supervisor", "dispatcher", "leader")
}
KEY_PREFIX = "om_"
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``grants`` are layer ids or glob patterns (``pipeline_*``)."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    grants: frozenset[str] = field(default_factory=frozenset)
    kind: str = "anonymous"
    department: str | None = None  # a handler's 处置部门 (code in cases/data/departments.yaml)

    @property
    def is_anonymous(self) -> bool:
        """Nobody signed in."""
        return self.kind == "anonymous"

    @property
    def is_admin(self) -> bool:
        """Holds the admin role (reads and writes every layer)."""
        return "admin" in self.roles

    def granted(self, layer_id: str) -> bool:
        """Whether a grant (an id or a glob pattern) names this layer."""
        if any(layer_id in _ROLE_GRANTS.get(role, ()) for role in self.roles):
            return True
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
        """The highest access level the roles alone open (grants add single restricted layers)."""
        if self.is_admin:
            return "restricted"
        return "internal" if self.roles else "public"


ANONYMOUS = Principal(name="anonymous")
assert set(ACCESS_RANK) == {"public", "internal", "restricted"}


def hash_key(key: str) -> str:
    """The stored form of an API key (SHA-256, hex)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """(key to show once, its short public prefix)."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


async def create_principal(
    conn: asyncpg.Connection, *, name: str, kind: Literal["user", "system"], roles: list[str],
    grants: list[str] | None = None, password: str | None = None, display_name: str | None = None,
    department: str | None = None,
) -> int:
    """Create or update a principal by name; returns its id.

    Raises:
        ValueError: an unknown role, or a handler without a department (the database refuses both too).
    """
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; known: {', '.join(ROLES)}")
    if "handler" in roles and not department:
        raise ValueError("a handler needs a department (--department)")
    pw_hash = _hasher.hash(password) if password else None
    pid: int = await conn.fetchval(
        """
        INSERT INTO onemap.principals (name, kind, display_name, password_hash, roles, grants, department)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, display_name = EXCLUDED.display_name,
          password_hash = coalesce(EXCLUDED.password_hash, onemap.principals.password_hash),
          roles = EXCLUDED.roles, grants = EXCLUDED.grants, department = EXCLUDED.department, disabled = false
        RETURNING id
        """,
        name, kind, display_name, pw_hash, roles, grants or [], department,
    )
    return pid


async def set_password(conn: asyncpg.Connection, *, name: str, password: str) -> bool:
    """Set a user's password (Argon2); returns whether the user exists. Check the policy first."""
    done = await conn.execute(
        "UPDATE onemap.principals SET password_hash = $2 WHERE name = $1 AND kind = 'user'",
        name, _hasher.hash(password),
    )
    return str(done).endswith(" 1")


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
        name=row["name"], roles=frozenset(row["roles"]), grants=frozenset(row["grants"]), kind=row["kind"],
        department=row["department"],
    )


async def principal_for_key(conn: asyncpg.Connection, key: str) -> Principal | None:
    """The principal an API key belongs to, or None if unknown, revoked, expired or disabled."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = await conn.fetchrow(
        """
        SELECT p.name, p.kind, p.roles, p.grants, p.department FROM onemap.api_keys k
        JOIN onemap.principals p ON p.id = k.principal_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
          AND NOT p.disabled
        """,
        hash_key(key),
    )
    return _principal_from(row) if row else None


async def principal_for_password(conn: asyncpg.Connection, name: str, password: str) -> Principal | None:
    """The user for a name and password, or None. Takes the same time for unknown names.

    No lock-out here: the API checks passwords through :func:`password_account` and the
    lock-out functions below.
    """
    account = await password_account(conn, name)
    return account.principal if verify_password(account.password_hash, password) else None


@dataclass(frozen=True, slots=True)
class PasswordAccount:
    """What checking a name and password needs, read in one round trip.

    Attributes:
        principal: The enabled user of that name, or None (unknown, disabled or a system).
        password_hash: Its Argon2 hash, or None.
        locked_until: When a current lock on the name ends; None when it is not locked.
        failures: Failed checks counted in the current window (to clear after a success).
    """

    principal: Principal | None
    password_hash: str | None
    locked_until: dt.datetime | None
    failures: int


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``failures`` failed checks within ``window`` lock a name; 0 failures: never.

    The first lock lasts ``lock``; each further lock without a successful sign-in in between
    lasts twice the one before (growing backoff), up to ``max_lock``. The count of locks is
    forgotten ``backoff_reset`` after the last lock ended.
    """

    failures: int
    window: dt.timedelta
    lock: dt.timedelta
    max_lock: dt.timedelta = dt.timedelta(hours=24)
    backoff_reset: dt.timedelta = dt.timedelta(hours=24)


async def password_account(conn: asyncpg.Connection, name: str) -> PasswordAccount:
    """The user, hash and lock state for ``name`` (which need not exist)."""
    row = await conn.fetchrow(
        """
        SELECT p.name, p.kind, p.roles, p.grants, p.department, p.password_hash,
               CASE WHEN f.locked_until > now() THEN f.locked_until END AS locked_until,
               coalesce(cardinality(f.failures), 0) AS failures
        FROM (SELECT $1::text AS name) n
        LEFT JOIN onemap.principals p ON p.name = n.name AND NOT p.disabled AND p.kind = 'user'
        LEFT JOIN onemap.sign_in_failures f ON f.name = n.name
        """,
        name,
    )
    found = row["name"] is not None
    return PasswordAccount(
        principal=_principal_from(row) if found else None,
        password_hash=row["password_hash"] if found else None,
        locked_until=row["locked_until"],
        failures=row["failures"],
    )


def verify_password(password_hash: str | None, password: str) -> bool:
    """Argon2 check (tens of ms, CPU-bound). A missing hash costs the same, so names cannot be probed."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def record_failed_sign_in(
    conn: asyncpg.Connection, name: str, *, policy: LockoutPolicy
) -> dt.datetime | None:
    """Count a failed check for ``name``; returns when the lock ends if this failure locked it.

    The failures are timestamps trimmed to the window, so "N within M minutes" is exact, and
    the upsert's row lock serialises concurrent failures from several processes.
    """
    if policy.failures <= 0:
        return None
    async with conn.transaction():
        locked: dt.datetime | None = await conn.fetchval(
            """
            INSERT INTO onemap.sign_in_failures AS f (name, failures) VALUES ($1, ARRAY[now()])
            ON CONFLICT (name) DO UPDATE SET failures = ARRAY(
              SELECT t FROM unnest(f.failures || now()) t WHERE t > now() - $2::interval ORDER BY t)
            RETURNING CASE WHEN cardinality(failures) >= $3
                           THEN now() + least($4::interval * (2 ^ least(f.locks, 30)), $5::interval) END
            """,
            name, policy.window, policy.failures, policy.lock, policy.max_lock,
        )
        if locked is not None:
            await conn.execute(
                "UPDATE onemap.sign_in_failures SET locked_until = $2, failures = '{}', locks = locks + 1 "
                "WHERE name = $1",
                name, locked,
            )
        # Names nobody uses (typos, guesses) would otherwise pile up; a lock count decays after a quiet day.
        await conn.execute(
            "DELETE FROM onemap.sign_in_failures WHERE coalesce(locked_until, '-infinity') < now() - $2::interval "
            "AND coalesce(failures[cardinality(failures)], '-infinity') < now() - $1::interval",
            policy.window, policy.backoff_reset,
        )
    return locked


async def clear_failed_sign_ins(conn: asyncpg.Connection, name: str) -> None:
    """Forget the failures counted for ``name`` after a successful check."""
    await conn.execute("DELETE FROM onemap.sign_in_failures WHERE name = $1", name)


async def revoke_key(conn: asyncpg.Connection, key: str) -> bool:
    """Revoke an API key; returns whether it was live."""
    done = await conn.execute(
        "UPDATE onemap.api_keys SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL", hash_key(key)
    )
    return str(done).endswith(" 1")


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
