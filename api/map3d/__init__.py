"""The offline 3D viewer at ``/map3d`` (三维展示): pipes at depth, wells and buildings as 3D Tiles.

CesiumJS comes from our own ``/vendor`` copy of the npm package; nothing loads from Cesium ion or any
other host. ``routes`` serves the page, its ES modules and ``/map3d/config``.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.map3d import routes


def map3d_router() -> APIRouter:
    """The 3D viewer's page, files and configuration."""
    router = APIRouter()
    router.include_router(routes.router)
    return router
