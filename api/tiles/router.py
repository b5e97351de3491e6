"""The OGC API Tiles router and the per-process :class:`TileService` it starts and stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api.context import AppContext
from api.settings import Settings
from api.tiles import tile_routes
from layers.db import when_up
from tiles.service import TileService


def tiles_router(settings: Settings) -> APIRouter:
    """Every tile route, with a lifespan that starts the tile service the style and map routes use too.

    The app's lifespan has set ``app.state.ctx`` before ours runs.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx: AppContext = app.state.ctx
        service = TileService(
            pool=ctx.pool, registry=lambda: ctx.registry, settings=settings.tiles, var_dir=settings.db.var_dir
        )
        await when_up(lambda: service.start(ctx.database_url), wait_s=settings.db.startup_wait_s, what="tile cache")
        app.state.tiles = service
        try:
            yield
        finally:
            await service.stop()

    router = APIRouter(lifespan=lifespan)
    router.include_router(tile_routes.router)
    return router
