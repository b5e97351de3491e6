"""Per-process application state: settings, the connection pool and the registry snapshot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg
from fastapi import Request

from api.settings import Settings
from layers.audit_queue import AuditQueue, KeyUseLog
from layers.db import DATABASE_OUTAGE_ERRORS
from layers.listener import Listener
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
    _listener: Listener | None = field(default=None, repr=False)
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _reloads: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def reload_registry(self) -> None:
        """Replace the registry snapshot with the database's."""
        async with self._reload_lock, self.pool.acquire() as conn:
            self.registry = await Registry.load(conn)

    async def _reload_quietly(self) -> None:
        try:
            await self.reload_registry()
        except DATABASE_OUTAGE_ERRORS as exc:
            # The listener is lost too, and reloads when it is back.
            log.warning("registry reload failed (%s); it is retried when the database is back", exc)

    async def listen_for_registry_changes(self) -> None:
        """Reload the registry whenever any process changes it (overlay registration, migrations).

        The LISTEN connection reconnects after a database restart and then reloads, since a change
        made while it was down was heard by nobody.
        """

        def _on_notify(_c: object, _pid: int, _channel: str, payload: str) -> None:
            log.info("registry changed (%s); reloading", payload)
            task = asyncio.get_running_loop().create_task(self._reload_quietly())
            self._reloads.add(task)  # keep a reference until done: the loop holds tasks weakly
            task.add_done_callback(self._reloads.discard)

        self._listener = Listener(self.database_url, {REGISTRY_CHANNEL: _on_notify}, name="registry",
                                  on_back=self.reload_registry)
        await self._listener.start()

    async def stop_listening(self) -> None:
        """Close the registry's LISTEN connection."""
        if self._listener is not None:
            await self._listener.stop()


async def get_context(request: Request) -> AppContext:
    """The application context (settings, pool, registry, tile service) of this request's app."""
    # async: a plain def dependency would hop to the thread pool on every request.
    ctx: AppContext = request.app.state.ctx
    return ctx
