"""The 3D parts of ``onemap tiles seed --3d`` and ``onemap tiles export --format 3dtiles`` (api/tiles/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from api.audit_cli import record
from layers.model import Layer
from layers.temporal import AsOf, During, Selection
from tiles.errors import NotATileLayer
from tiles.seed import TileRun
from tiles.service import TileService
from tiles.threed_export import content_cells, export_3dtiles, plan, seed_3d
from tiles.threed_kinds import kind_of
from tiles.threed_service import ThreeDService


def with_3d(layers: list[Layer], *, explicit: bool) -> list[Layer]:
    """The layers that have 3D tiles; a layer named explicitly without them is an error (ValueError)."""
    out = []
    for layer in layers:
        try:
            kind_of(layer)
        except NotATileLayer as exc:
            if explicit:
                raise ValueError(str(exc)) from None
            continue
        out.append(layer)
    if not out:
        raise ValueError("none of these layers has 3D tiles (pipeline segments and points, buildings do)")
    return out


async def seed_job(service: TileService, layers: list[Layer], *, concurrency: int) -> TileRun:
    """Render every current 3D content tile of ``layers`` into the caches, with a progress bar."""
    threed = ThreeDService(service)
    tilesets = await plan(threed, layers)
    total = sum(len(content_cells(doc)) for doc in tilesets.values())
    typer.echo(f"seeding the 3D tiles of {len(layers)} layers: {total} content tiles")
    with tqdm(total=total, unit="tile", dynamic_ncols=True) as bar:
        return await seed_3d(threed, layers, concurrency=concurrency, progress=bar.update, tilesets=tilesets)


async def export_job(service: TileService, layers: list[Layer], *, out: Path, selection: Selection | None,
                     datetime: str | None) -> TileRun:
    """Write the layers' 3D tilesets under ``out`` and put exports of non-public layers on record."""
    threed = ThreeDService(service)
    tilesets = await plan(threed, layers, selection)
    total = sum(len(content_cells(doc)) for doc in tilesets.values())
    typer.echo(f"exporting the 3D tiles of {len(layers)} layers ({total} content tiles) to {out}/tileset.json")
    with tqdm(total=total, unit="tile", dynamic_ncols=True) as bar:
        run = await export_3dtiles(threed, layers, out=out, selection=selection, progress=bar.update,
                                   tilesets=tilesets)
    async with service.pool.acquire() as conn:  # an export of a non-public layer is a read: on record
        for layer in layers:
            if layer.access != "public":
                await record(conn, "export", layer=layer.id, area=None,
                             detail={"format": "3dtiles", "tiles": run.non_empty, "output": str(out),
                                     "datetime": datetime})
    return run


def instant(text: str) -> Selection:
    """An instant for a 3D export (a date is the end of that day); ValueError for intervals or nonsense."""
    from layers.query.errors import InvalidQuery
    from layers.query.instants import parse_datetime

    try:
        selection = parse_datetime(text)
    except InvalidQuery as exc:
        raise ValueError(str(exc)) from None
    if isinstance(selection, During) and "/" not in text and selection.end is not None:
        return AsOf(selection.end)
    if not isinstance(selection, AsOf):
        raise ValueError("--datetime must be one instant (or a date), not an interval")
    return selection
