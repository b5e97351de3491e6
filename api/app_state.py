"""Per-process parts that start on first use and then live on ``app.state`` (LISTEN connections)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from fastapi import FastAPI

T = TypeVar("T")
# One lock for every such part: each starts once per process, so contention is only at start-up.
_start_lock = asyncio.Lock()


async def started_once(app: FastAPI, attr: str, start: Callable[[], Awaitable[T]]) -> T:
    """``app.state.<attr>``, made by ``start()`` the first time anyone asks, never twice under concurrent asks."""
    found = getattr(app.state, attr, None)
    if found is None:
        async with _start_lock:
            found = getattr(app.state, attr, None)
            if found is None:
                found = await start()
                setattr(app.state, attr, found)
    return cast(T, found)
