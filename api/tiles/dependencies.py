"""FastAPI dependencies the tile, style and web-map routes share: the context, the tile service,
and the base URL links are built from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.context import AppContext, get_context
from tiles.service import TileService


async def get_tiles(request: Request) -> TileService:
    """The process's :class:`TileService`, started by :func:`api.tiles.router.tiles_router`'s lifespan."""
    service: TileService = request.app.state.tiles
    return service


TilesDep = Annotated[TileService, Depends(get_tiles)]
CtxDep = Annotated[AppContext, Depends(get_context)]


def base_url(request: Request, ctx: AppContext) -> str:
    """The URL links start with: the configured public URL, else the one the request came to."""
    if ctx.settings.api.public_url:
        return ctx.settings.api.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
