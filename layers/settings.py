"""Database settings (env prefix ``ONEMAP_``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the database is, and how to pool connections to it.

    Attributes:
        database_url: ``postgresql://…`` of an existing server. When unset, One Map
            runs its own private cluster under ``var_dir``.
        var_dir: Folder for the private cluster, logs and caches.
        pool_min_size / pool_max_size: asyncpg pool bounds per process. Checkouts beyond the maximum
            wait their turn, first come first served (layers/db.py). The maximum is the most statements
            one process runs at once: more than the database has cores mostly shares them out, and on
            2 cores 16 per process (32 on the default 2 workers) put p99 at 64 clients to 0.6-1.1 s for
            items in a 500 m box where 4-8 gave 0.35-0.52 s (benchmarks/README.md, "Tail at 64 clients").
        statement_timeout_ms: Server-side limit for any one statement from the API.
        startup_wait_s: How long a starting API worker waits for an unreachable database (a worker
            the supervisor replaces during an outage) before giving up; ``inf`` waits for good.
        retry_after_s: The ``Retry-After`` of the 503 the API answers while the database is away.
        replica_url: A hot standby of the primary (layers/routing.py): stale-tolerant reads (items,
            tiles, statistics) go there once it has replayed the reader's last write.
        replica_max_wait_ms: How long such a read waits for the standby to catch up before it
            goes to the primary instead.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    database_url: str | None = None
    var_dir: Path = Path("var")
    pool_min_size: int = 2
    pool_max_size: int = 8
    statement_timeout_ms: int = 30_000
    startup_wait_s: Annotated[float, Field(gt=0)] = math.inf
    retry_after_s: Annotated[int, Field(ge=1, le=3600)] = 2
    replica_url: str | None = None
    replica_max_wait_ms: Annotated[int, Field(ge=0, le=10_000)] = 200


class AuditSettings(BaseSettings):
    """The access audit log (env prefix ``ONEMAP_AUDIT_``).

    Attributes:
        retention_days: How long ``onemap audit purge`` keeps events (China's Cybersecurity Law,
            art. 21, asks for at least six months of network logs).
        flush_seconds: The API writes queued events at least this often.
        batch_rows: ...or as soon as this many are queued.
        buffer_rows: At most this many events wait in one process; beyond that new events are
            dropped and counted, and the count is written as an ``audit.dropped`` event.
        key_use_period_seconds: An API key's use is logged on its first request in each such
            period (per process); reads of non-public layers are logged on every request anyway.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_AUDIT_", extra="ignore")

    retention_days: int = Field(default=180, ge=1)
    flush_seconds: float = Field(default=1.0, gt=0, le=60)
    batch_rows: int = Field(default=500, ge=1)
    buffer_rows: int = Field(default=10_000, ge=100)
    key_use_period_seconds: int = Field(default=3600, ge=0)
