"""The API's audit writer: an in-process queue flushed every second or every N events.

Logging a read must not cost the request a database round trip, so requests only append to a
list here; one background task writes the list in a single INSERT (:func:`layers.audit.append`)
every ``flush_seconds``, or at once when ``batch_rows`` are waiting or an urgent (security) event
arrives.

Loss policy, in order of what can go wrong:

- The database refuses a write (outage): the batch goes back to the front of the queue and is
  retried at the next flush, so nothing is lost while the buffer has room.
- The buffer is full (``buffer_rows``): the *new* event is dropped, never an older one, and the
  drop is counted; the next successful flush first writes an ``audit.dropped`` event carrying the
  count and the time span, so a gap is itself on the record.
- The process dies without shutting down (``kill -9``, power loss): what was queued — at most
  ``flush_seconds`` of events — is lost. A normal shutdown flushes (:meth:`AuditQueue.close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque

import asyncpg

from layers.audit import AuditEvent, append
from layers.db import DATABASE_OUTAGE_ERRORS

log = logging.getLogger("onemap.audit")


class AuditQueue:
    """Buffered, ordered writing of audit events for one process."""

    def __init__(self, pool: asyncpg.Pool, *, flush_seconds: float = 1.0, batch_rows: int = 500,
                 buffer_rows: int = 10_000) -> None:
        self.pool = pool
        self.flush_seconds = flush_seconds
        self.batch_rows = batch_rows
        self.buffer_rows = buffer_rows
        self.dropped = 0
        self.written = 0
        self._drop_span: tuple[dt.datetime, dt.datetime] | None = None
        self._buffer: deque[AuditEvent] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    def put(self, event: AuditEvent, *, urgent: bool = False) -> None:
        """Queue an event (no I/O). ``urgent`` (security events) wakes the writer at once."""
        if len(self._buffer) >= self.buffer_rows:
            self.dropped += 1
            start = self._drop_span[0] if self._drop_span else event.at
            self._drop_span = (start, event.at)
            return
        self._buffer.append(event)
        if urgent or len(self._buffer) >= self.batch_rows:
            self._wake.set()

    def start(self) -> None:
        """Start the background writer (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="onemap-audit-writer")

    async def close(self) -> None:
        """Stop the writer and write whatever is still queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def take(self) -> list[AuditEvent]:
        """Remove and return everything queued, unwritten (for tools that write it themselves)."""
        events = list(self._buffer)
        self._buffer.clear()
        return events

    @property
    def pending(self) -> int:
        """Events waiting to be written."""
        return len(self._buffer)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_seconds)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write everything queued now; returns how many events were written (0 on failure)."""
        async with self._write_lock:
            batch = list(self._buffer)
            self._buffer.clear()
            gap = self._gap_event()
            if gap is not None:
                batch.insert(0, gap)
            if not batch:
                return 0
            try:
                async with self.pool.acquire() as conn:
                    await append(conn, batch)
            except (*DATABASE_OUTAGE_ERRORS, OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    TimeoutError) as exc:
                log.warning("audit log write failed (%s); %d events kept for the next try", exc, len(batch))
                self._requeue(batch)
                return 0
            self.written += len(batch)
            return len(batch)

    def _gap_event(self) -> AuditEvent | None:
        if not self.dropped or self._drop_span is None:
            return None
        first, last = self._drop_span
        event = AuditEvent(kind="audit.dropped", actor="onemap", status=None,
                           detail={"dropped": self.dropped, "from": first.isoformat(), "to": last.isoformat(),
                                   "buffer_rows": self.buffer_rows})
        self.dropped, self._drop_span = 0, None
        return event

    def _requeue(self, batch: list[AuditEvent]) -> None:
        # Oldest first at the front; whatever no longer fits is counted as dropped.
        room = self.buffer_rows - len(self._buffer)
        keep, lose = batch[:room], batch[room:]
        self._buffer.extendleft(reversed(keep))
        for event in lose:
            if event.kind == "audit.dropped" and event.detail:
                self.dropped += int(event.detail["dropped"])
            else:
                self.dropped += 1
            start = self._drop_span[0] if self._drop_span else event.at
            self._drop_span = (min(start, event.at), event.at)


class KeyUseLog:
    """Logs an API key's use once per period per process (every read of a non-public layer
    is logged with the key anyway; this records that a key was active on public paths too)."""

    def __init__(self, period_seconds: float, max_keys: int = 10_000) -> None:
        self.period = period_seconds
        self.max_keys = max_keys
        self._last: dict[str, float] = {}

    def due(self, prefix: str) -> bool:
        """Whether this key's use should be logged now (and note that it was)."""
        now = time.monotonic()
        last = self._last.get(prefix)
        if last is not None and now - last < self.period:
            return False
        if len(self._last) >= self.max_keys:
            self._last.clear()
        self._last[prefix] = now
        return True
