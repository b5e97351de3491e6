"""The planners' web map at ``/map`` and the folium quick look of one collection.

The page's assets sit beside the routes that serve them: ``index.html`` and ``static/`` (ES
modules, no bundler). ``routes`` serves the page, its files and ``/map/config``; ``search``
serves ``/search``; ``quicklook`` serves ``/collections/{id}/map``.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.map import quicklook, routes, search


def map_router() -> APIRouter:
    """The web map's page, files, configuration and search, and the quick-look pages."""
    router = APIRouter()
    router.include_router(routes.router)
    router.include_router(search.router)
    router.include_router(quicklook.router)
    return router
