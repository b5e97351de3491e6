"""``create_app(settings)``: the One Map FastAPI application."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI
from starlette.types import ASGIApp

from api.audit_routes import router as audit_router
from api.audit_routes import start_audit, stop_audit
from api.auth import PrincipalDep
from api.auth_routes import router as auth_router
from api.cases import cases_routers, install_case_error_handler, stop_case_feed
from api.cases_pages import cases_pages_router
from api.context import AppContext, get_context
from api.errors import install_error_handlers
from api.feed import feed_routers, start_feed, stop_feed
from api.head import HeadAsGet
from api.health import router as health_router
from api.input_guard import UnstorableCharacters
from api.map import map_router
from api.map3d import map3d_router
from api.ogc import features_routers
from api.ogc.bulk_edit import router as bulk_edit_router
from api.ogc.changesets import router as changesets_router
from api.ogc.core import docs_router
from api.ogc.item_lane import ItemFastPath
from api.processes import processes_router, start_jobs, stop_jobs
from api.replica_routing import ReplicaRouting
from api.settings import Settings, load_settings
from api.styles import styles_router
from api.threed.routes import router as threed_router
from api.tiles.fastpath import CachedTileFastPath
from api.tiles.router import tiles_router
from api.vendor import vendor_router
from layers.db import close_pool, postgis_version, resolve_database_url, when_up
from layers.registry import Registry
from layers.routing import open_pool

log = logging.getLogger("onemap.api")


async def _load_registry(pool: asyncpg.Pool) -> Registry:
    async with pool.acquire() as conn:
        return await Registry.load(conn)


SHUTDOWN_STEP_S = 10.0  # per step of the app's shutdown; each may need the database


async def _bounded(step: Awaitable[None], what: str) -> None:
    """Run one shutdown step for at most :data:`SHUTDOWN_STEP_S`; one that hangs or fails is logged and left.

    A step that writes or closes a connection can wait for ever on a database that is gone (dropped,
    failed over, a half-open socket): the test suite saw a module's app teardown hang until pytest's
    300 s timeout after its database was dropped. The steps after it, and the pool's close, must run anyway.
    """
    try:
        await asyncio.wait_for(step, SHUTDOWN_STEP_S)
    except TimeoutError:
        log.warning("shutdown: %s did not stop within %.0f s; going on without it", what, SHUTDOWN_STEP_S)
    except Exception:
        log.exception("shutdown: stopping %s failed; going on", what)


class OneMapAPI(FastAPI):
    """FastAPI with the feature lanes (item by id and pages of items: api/ogc/item_lane.py) outside every
    middleware, its own included: the leanest reads should not pay for eight layers they have no use for."""

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, behind the lane."""
        return ItemFastPath(super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Opens the pool and loads the registry in the lifespan."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = resolve_database_url(settings.db)
        wait_s = settings.db.startup_wait_s
        # A worker replaced mid-outage waits here for the database instead of failing its start.
        # With ONEMAP_REPLICA_URL, stale-tolerant reads go to the standby (layers/routing.py, api/replica_routing.py).
        pool = await when_up(lambda: open_pool(url, settings.db), wait_s=wait_s, what="start-up")
        registry = await when_up(lambda: _load_registry(pool), wait_s=wait_s, what="start-up")
        ctx = AppContext(
            settings=settings, pool=pool, registry=registry, database_url=url,
            signing_key=settings.api.signing_key(settings.db.var_dir),
        )
        await when_up(ctx.listen_for_registry_changes, wait_s=wait_s, what="start-up")
        start_audit(ctx)
        app.state.ctx = ctx
        await when_up(lambda: start_jobs(app, ctx), wait_s=wait_s, what="start-up")
        await when_up(lambda: start_feed(app, ctx), wait_s=wait_s, what="start-up")  # webhook deliveries (api/feed/)
        # Everything start-up made (modules, registry, routes: ~120,000 objects) lives as long as the
        # process; a full collection walking it took 40-250 ms, stalling every request in flight on
        # this worker (the tail at 64 clients). Frozen, a full collection sees only newer objects.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await _bounded(stop_jobs(app), "the job runner")  # running jobs are recorded failed, pool still open
            await _bounded(stop_audit(ctx), "the audit writer")  # before the pool closes: queued events are written
            await _bounded(stop_case_feed(app), "the case feed")  # its LISTEN connection (api/cases/events.py)
            await _bounded(stop_feed(app), "the change feed")  # delivery worker and LISTEN connection (api/feed/)
            await _bounded(ctx.stop_listening(), "the registry listener")
            await close_pool(pool)  # bounded too: a connection still checked out must not hang shutdown

    app = OneMapAPI(
        title="One Map 一张图 — Changsha spatio-temporal information platform",
        version="0.1.0",
        description="OGC API Features, Tiles, Styles and Processes over Changsha's versioned city model.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's docs page loads Swagger UI from a CDN; /api-docs is ours
        redoc_url=None,
        openapi_url=None,  # the OGC OpenAPI 3.0 document is served at /openapi (api/ogc/openapi/)
        # FastAPI's built-in OpenTelemetry asks the tracer, meter and logger providers on every
        # request whether anyone listens (nobody is configured): 4 % of an item-by-id request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app, retry_after_s=settings.db.retry_after_s)
    install_case_error_handler(app)  # the database's refusal of a case move on any write path (api/cases/errors.py)
    app.include_router(vendor_router(settings.api.node_modules_dir))
    app.include_router(cases_pages_router())  # /cases/report|console|tasks|verify|dashboard (api/cases_pages/)
    for router in cases_routers():  # /cases/… (api/cases/); before Features: it serves Part 4 POST to city_cases
        app.include_router(router)
    for router in feed_routers():  # /collections/{id}/changes[/events], /subscriptions (api/feed/)
        app.include_router(router)
    for router in features_routers():
        app.include_router(router)
    app.include_router(auth_router)
    app.include_router(audit_router)  # /admin/audit (api/audit_routes.py)
    app.include_router(changesets_router)  # /changesets, /changesets/{id}[/undo]: map editing (api/ogc/changesets.py)
    app.include_router(bulk_edit_router)  # /collections/{id}/bulk-edit (api/ogc/bulk_edit.py)
    app.include_router(docs_router)
    app.include_router(tiles_router(settings))  # OGC API Tiles (api/tiles/tile_routes.py); starts the tile service
    app.include_router(threed_router)  # 3D Tiles of pipelines and buildings (api/threed/routes.py)
    app.include_router(styles_router())  # OGC API Styles and /fonts (api/styles/routes.py, glyphs.py)
    app.include_router(processes_router())  # OGC API Processes and jobs (api/processes/)
    app.include_router(map_router())  # /map, /map/config, /search, /collections/{id}/map (api/map/)
    app.include_router(map3d_router())  # /map3d, /map3d/config: the offline 3D viewer (api/map3d/)
    app.add_middleware(UnstorableCharacters)  # 400 for a NUL in the path, query or form (api/input_guard.py)
    app.add_middleware(CachedTileFastPath)
    app.add_middleware(HeadAsGet)  # HEAD reaches the tile fast lane and every route as GET (the item lane: GET only)
    app.add_middleware(ReplicaRouting)  # reads to the standby, OneMap-LSN on writes (api/replica_routing.py)

    @app.get("/health", tags=["system"], summary="Liveness and database check")
    async def health(ctx: Annotated[AppContext, Depends(get_context)], principal: PrincipalDep) -> dict[str, Any]:
        """Whether the database answers, its PostGIS version, and how many layers the caller may read."""
        async with ctx.pool.acquire() as conn:
            postgis = await postgis_version(conn)
        # Counting every layer would tell an anonymous caller that hidden ones exist, and how many.
        readable = sum(1 for layer in ctx.registry.all() if principal.can_read(layer))
        return {"status": "ok", "postgis": postgis, "layers": readable}

    app.include_router(health_router)  # /health/live, /health/ready for load balancers (api/health.py)

    return app
