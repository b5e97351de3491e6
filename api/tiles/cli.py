"""``onemap tiles seed`` and ``onemap tiles export``: tiles for the cache, offline use and CDNs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from tqdm import tqdm

from api.audit_cli import record
from api.settings import Settings, load_settings
from api.tiles import cli3d
from layers.db import create_pool, resolve_database_url
from layers.errors import LayerError
from layers.model import Layer
from layers.registry import Registry
from layers.temporal import Selection
from spatial.tms import TMS_IDS, WEB_MERCATOR_QUAD
from tiles.seed import Box, TileRun, describe, export_pmtiles, layer_extent, parse_bbox, parse_zooms, planned, seed
from tiles.service import TileService

tiles_app = typer.Typer(help="Vector tiles: seed the shared tile cache, export PMTiles archives.", no_args_is_help=True)
T = TypeVar("T")

LayersOpt = Annotated[
    str | None,
    typer.Option("--layers", help="Comma-separated collection ids (default: every public and internal vector layer)"),
]
BboxOpt = Annotated[
    str | None, typer.Option("--bbox", help="minlon,minlat,maxlon,maxlat in EPSG:4490 (default: the layers' extent)")
]
ZoomOpt = Annotated[str, typer.Option("--zoom", help="Zoom level or range, e.g. 14 or 10-16")]
RestrictedOpt = Annotated[
    bool,
    typer.Option(
        "--include-restricted", help="Also take restricted layers (pipelines). Their tiles then leave access control."
    ),
]


def cli3d_selection(datetime: str | None) -> Selection | None:
    """``--datetime`` of a 3D export: an instant (a date means its end), or None for the current state."""
    if datetime is None:
        return None
    try:
        return cli3d.instant(datetime)
    except ValueError as exc:
        _fail(str(exc))
        raise AssertionError from exc


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _choose(registry: Registry, names: str | None, *, include_restricted: bool) -> list[Layer]:
    if names is None:
        return [layer for layer in registry.vector_layers() if layer.access != "restricted" or include_restricted]
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        layer = registry.find(name)
        if layer is None or not layer.is_vector:
            _fail(f"{name!r} is not a vector collection; see `onemap db status` for the list")
            raise AssertionError
        if layer.access == "restricted" and not include_restricted:
            _fail(f"{name} is restricted; add --include-restricted if these tiles may leave access control")
        out.append(layer)
    return out


async def _with_service(settings: Settings, job: Callable[[TileService, Registry], Awaitable[T]]) -> T:
    url = resolve_database_url(settings.db)
    pool = await create_pool(url, settings.db)
    try:
        async with pool.acquire() as conn:
            registry = await Registry.load(conn)
        service = TileService(
            pool=pool, registry=lambda: registry, settings=settings.tiles, var_dir=settings.db.var_dir
        )
        await service.start(url)
        try:
            return await job(service, registry)
        finally:
            await service.stop()
    finally:
        await pool.close()


async def _area(service: TileService, layers: list[Layer], bbox: str | None, settings: Settings) -> Box:
    if bbox is not None:
        return parse_bbox(bbox)
    extent = layer_extent([await service.extent(layer, data_dir=settings.api.data_dir) for layer in layers])
    if extent is None:
        _fail("the chosen layers hold no features; give --bbox or load data first")
        raise AssertionError
    return extent


def _run(coro: Awaitable[TileRun]) -> TileRun:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (LayerError, ValueError) as exc:
        _fail(str(exc))
        raise AssertionError from exc


@tiles_app.command("seed")
def seed_command(
    layers: LayersOpt = None,
    bbox: BboxOpt = None,
    zoom: ZoomOpt = "10-16",
    tms: Annotated[str, typer.Option("--tms", help="Tile matrix set: " + ", ".join(TMS_IDS))] = WEB_MERCATOR_QUAD,
    include_restricted: RestrictedOpt = False,
    concurrency: Annotated[int, typer.Option(help="Tiles rendered at once")] = 2,
    three_d: Annotated[
        bool, typer.Option("--3d", help="Seed the 3D Tiles (glb) of pipeline and building layers instead")
    ] = False,
) -> None:
    """Render tiles into the shared disk cache, so the first visitor of an area waits for nothing."""
    settings = load_settings()
    if not settings.tiles.disk_cache:
        _fail("ONEMAP_TILE_DISK_CACHE is off: seeding would only warm this command's own memory")
    if three_d:
        typer.echo(describe(_run(_with_service(settings, lambda service, registry: cli3d.seed_job(
            service, cli3d.with_3d(_choose(registry, layers, include_restricted=include_restricted),
                                   explicit=layers is not None), concurrency=max(1, concurrency))))))
        return
    if tms not in TMS_IDS:
        _fail(f"--tms must be one of {', '.join(TMS_IDS)}")
    zooms = parse_zooms(zoom)

    async def job(service: TileService, registry: Registry) -> TileRun:
        chosen = _choose(registry, layers, include_restricted=include_restricted)
        area = await _area(service, chosen, bbox, settings)
        total = planned(tms, area, zooms)
        typer.echo(
            f"seeding {len(chosen)} layers, {total} {tms} tiles at zoom {zoom} into "
            f"{settings.tiles.resolved_cache_dir(settings.db.var_dir)}"
        )
        with tqdm(total=total, unit="tile", dynamic_ncols=True) as bar:
            return await seed(
                service, chosen, bbox=area, zooms=zooms, tms=tms, concurrency=max(1, concurrency), progress=bar.update
            )

    typer.echo(describe(_run(_with_service(settings, job))))


@tiles_app.command("export")
def export_command(
    output: Annotated[Path | None, typer.Argument(help="File to write, e.g. changsha.pmtiles")] = None,
    format: Annotated[str, typer.Option("--format", help="pmtiles (one archive) or 3dtiles (a folder)")] = "pmtiles",
    layers: LayersOpt = None,
    bbox: BboxOpt = None,
    zoom: ZoomOpt = "10-16",
    include_restricted: RestrictedOpt = False,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write (a folder for 3dtiles)")] = None,
    datetime: Annotated[str | None, typer.Option("--datetime", help="3dtiles: the city as of this instant")] = None,
) -> None:
    """Write the chosen layers' tiles: one PMTiles archive (vector, WebMercatorQuad), or a 3D Tiles folder."""
    output = out or output
    if output is None:
        _fail("give the file or folder to write (--out)")
        raise AssertionError
    settings = load_settings()
    if format.lower() == "3dtiles":
        selection = cli3d_selection(datetime)
        typer.echo(describe(_run(_with_service(settings, lambda service, registry: cli3d.export_job(
            service, cli3d.with_3d(_choose(registry, layers, include_restricted=include_restricted),
                                   explicit=layers is not None), out=output, selection=selection,
            datetime=datetime)))))
        return
    if format.lower() != "pmtiles":
        _fail("--format must be pmtiles or 3dtiles")
    zooms = parse_zooms(zoom)

    async def job(service: TileService, registry: Registry) -> TileRun:
        chosen = _choose(registry, layers, include_restricted=include_restricted)
        area = await _area(service, chosen, bbox, settings)
        total = planned(WEB_MERCATOR_QUAD, area, zooms)
        typer.echo(f"exporting {len(chosen)} layers, {total} tiles at zoom {zoom} to {output}")
        with tqdm(total=total, unit="tile", dynamic_ncols=True) as bar:
            run = await export_pmtiles(service, chosen, bbox=area, zooms=zooms, path=output, progress=bar.update)
        async with service.pool.acquire() as conn:  # an export of a non-public layer is a read: on record
            for layer in chosen:
                if layer.access != "public":
                    await record(conn, "export", layer=layer.id, area=f"bbox:{','.join(map(str, area))}",
                                 detail={"format": "pmtiles", "zooms": zoom, "tiles": run.non_empty,
                                         "output": str(output)})
        return run

    typer.echo(describe(_run(_with_service(settings, job))))
