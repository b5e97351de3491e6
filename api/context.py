"""Per-process application state: settings, the connection pool and the registry snapshot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg
from fastapi import Request

from api.settings import Settings
from layers.audit_queue import AuditQueue, KeyUseLog
from layers.registry import REGISTRY_CHANNEL, Registry

log = logging.getLogger("onemap.api")


@dataclass
class AppContext:
    settings: Settings
    pool: asyncpg.Pool
    registry: Registry
    database_url: str
    signing_key: str
    audit: AuditQueue | None = None  # the audit log writer (api/audit.py appends to it)
    key_uses: KeyUseLog | None = None  # when each API key's use was last logged
    _listener: asyncpg.Connection | None = field(default=None, repr=False)
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def reload_registry(self) -> None:
        async with self._reload_lock, self.pool.acquire() as conn:
            self.registry = await Registry.load(conn)

    async def listen_for_registry_changes(self, conn: asyncpg.Connection) -> None:
        """Reload the registry whenever any process changes it (overlay registration, migrations)."""

        def _on_notify(_c: object, _pid: int, _channel: str, payload: str) -> None:
            log.info("registry changed (%s); reloading", payload)
            asyncio.get_running_loop().create_task(self.reload_registry())

        await conn.add_listener(REGISTRY_CHANNEL, _on_notify)
        self._listener = conn


async def get_context(request: Request) -> AppContext:
    """The application context (settings, pool, registry, tile service) of this request's app."""
    # async: a plain def dependency would hop to the thread pool on every request.
    ctx: AppContext = request.app.state.ctx
    return ctx
