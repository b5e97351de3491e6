"""OGC API Features Parts 1–4 over the versioned city model (landing, collections, items, writes)."""

from __future__ import annotations

from fastapi import APIRouter

from api.ogc.collections import router as collections_router
from api.ogc.core import router as core_router
from api.ogc.items import router as items_router
from api.ogc.writes import router as writes_router


def features_routers() -> list[APIRouter]:
    """The Features routers, hottest first (included one by one: nesting costs a match per level)."""
    return [items_router, collections_router, writes_router, core_router]
