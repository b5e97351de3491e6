"""OGC API Styles: the map's MapLibre styles, their metadata and legends, and the glyphs they use.

``routes`` holds ``/styles`` and ``/collections/{id}/styles``, ``glyphs`` holds ``/fonts``, and
``documents`` builds the JSON both kinds of style route answer with.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.styles import glyphs, routes


def styles_router() -> APIRouter:
    """Every OGC API Styles route, and the glyph route the styles point to."""
    router = APIRouter()
    router.include_router(routes.router)
    router.include_router(glyphs.router)
    return router
