"""What logging reads of non-public layers costs a request: the same app, audit on and off.

In process (httpx's ASGI transport, one connection pool, no network), so the difference is the
audit's own Python work — building the event, counting a tile's features, the queue, and the
writer's batched INSERT running on the same event loop — not noise from sockets. Rounds
alternate off/on and the medians of each are compared::

    python -m benchmarks.audit_overhead --url postgresql://… --key om_… \\
        --path /collections/power_facilities/items?limit=10 --path /collections/power_facilities/tiles/…
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from layers.audit_queue import AuditQueue


@dataclass(frozen=True, slots=True)
class Overhead:
    """Median per-request time of one path with the audit off and on, in milliseconds."""

    path: str
    off_ms: float
    on_ms: float
    events: int
    off_best_ms: float = 0.0
    on_best_ms: float = 0.0

    @property
    def added_ms(self) -> float:
        """Milliseconds the audit adds per request (median of medians)."""
        return self.on_ms - self.off_ms

    def line(self) -> str:
        """One report line."""
        return (f"{self.path:<66} median off {self.off_ms:6.3f} on {self.on_ms:6.3f} ms "
                f"({self.added_ms:+.3f}); best off {self.off_best_ms:6.3f} on {self.on_best_ms:6.3f} ms "
                f"({self.on_best_ms - self.off_best_ms:+.3f}); {self.events} events")


async def _round(client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        r = await client.get(path, headers=headers)
        r.raise_for_status()
    return (time.perf_counter() - started) * 1000 / n


async def measure(app: FastAPI, path: str, headers: dict[str, str], *, n: int = 200, rounds: int = 5) -> Overhead:
    """Time ``path`` with the app's audit queue detached (off) and attached (on), alternating."""
    ctx = app.state.ctx
    queue: AuditQueue = ctx.audit
    transport = httpx.ASGITransport(app=app)
    off: list[float] = []
    on: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await _round(client, path, headers, 20)  # warm caches (tiles, statements)
        await queue.flush()
        written = queue.written
        for _ in range(rounds):
            ctx.audit = None
            off.append(await _round(client, path, headers, n))
            ctx.audit = queue
            on.append(await _round(client, path, headers, n))
        await queue.flush()
    return Overhead(path, statistics.median(off), statistics.median(on), queue.written - written,
                    min(off), min(on))


@dataclass(frozen=True, slots=True)
class Parts:
    """The audit's own costs, timed alone: per event queued, per tile counted, per event written."""

    queue_us: float
    count_us: float
    features: int
    write_us: float

    def line(self) -> str:
        """One report line."""
        return (f"queue an event {self.queue_us:.2f} µs; count a tile's features ({self.features}) "
                f"{self.count_us:.1f} µs; batched INSERT {self.write_us:.1f} µs per event")


async def parts(queue: AuditQueue, tile: bytes, *, n: int = 5000) -> Parts:
    """Time the pieces of logging one read: build and queue an event, count a tile, write in batches."""
    from layers.audit import AuditEvent, append
    from tiles.feature_count import mvt_feature_counts

    scratch = AuditQueue(queue.pool, buffer_rows=n, batch_rows=n + 1)  # never started: nothing writes behind us
    started = time.perf_counter()
    for i in range(n):
        scratch.put(AuditEvent(kind="read.tile", actor="bench", credential="key:bench", layer="bench",
                               area=f"tile:WebMercatorQuad/15/{i}/{i}", features=i, status=200, path="/bench",
                               client="127.0.0.1", detail={"source": "memory"}))
    queued = (time.perf_counter() - started) * 1e6 / n
    started = time.perf_counter()
    for _ in range(200):
        counts = mvt_feature_counts(tile)
    counted = (time.perf_counter() - started) * 1e6 / 200
    events = scratch.take()
    started = time.perf_counter()
    async with queue.pool.acquire() as conn:
        for i in range(0, len(events), queue.batch_rows):
            await append(conn, events[i:i + queue.batch_rows])
    written = (time.perf_counter() - started) * 1e6 / len(events)
    return Parts(queued, counted, sum(counts.values()), written)


async def _main(url: str, key: str, paths: list[str], n: int) -> None:
    from pathlib import Path

    from api.app import create_app
    from api.settings import ApiSettings, Settings
    from layers.settings import DatabaseSettings

    app = create_app(Settings(db=DatabaseSettings(database_url=url, var_dir=Path("var")), api=ApiSettings()))
    async with app.router.lifespan_context(app):
        for path in paths:
            print((await measure(app, path, {"Authorization": f"Bearer {key}"}, n=n)).line())


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True, help="An API key that may read the paths")
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(_main(args.url, args.key, args.path, args.n))


if __name__ == "__main__":
    main()
