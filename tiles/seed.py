"""Pre-render tiles into the shared cache (seeding) or into a PMTiles archive (export).

Both walk every tile of a bbox (EPSG:4490 lon/lat) over a zoom range, in Hilbert order for
PMTiles, and render through the same :class:`~tiles.service.TileService` the API uses, so
seeded and exported tiles are byte-for-byte what the server would send.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from layers.model import Layer
from spatial.tms import WEB_MERCATOR_QUAD, count_tiles, tile_range, tiles_in_bbox
from styles.catalog import properties_for
from tiles.mvt import TileAddress
from tiles.service import TileService

Box = tuple[float, float, float, float]
Progress = Callable[[int], object]


@dataclass
class TileRun:
    """What a seed or export did."""

    tiles: int = 0
    non_empty: int = 0
    bytes: int = 0
    largest: int = 0
    seconds: float = 0.0
    per_zoom: dict[int, int] = field(default_factory=dict)

    def add(self, z: int, size: int) -> None:
        """Count one tile of ``size`` bytes at zoom ``z`` (0 = empty)."""
        self.tiles += 1
        if size:
            self.non_empty += 1
            self.bytes += size
            self.largest = max(self.largest, size)
            self.per_zoom[z] = self.per_zoom.get(z, 0) + 1


def parse_zooms(text: str) -> range:
    """``"12"`` or ``"10-16"`` → an inclusive zoom range."""
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise ValueError(f"zoom range {text!r} is not N or N-M") from None
    if not 0 <= first <= last <= 24:
        raise ValueError(f"zoom range {text!r} must satisfy 0 <= N <= M <= 24")
    return range(first, last + 1)


def parse_bbox(text: str) -> Box:
    """``"minlon,minlat,maxlon,maxlat"`` in EPSG:4490 degrees."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError("bbox needs four numbers: minlon,minlat,maxlon,maxlat (EPSG:4490)")
    west, south, east, north = (float(p) for p in parts)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValueError("bbox must be minlon,minlat,maxlon,maxlat with min < max, in degrees")
    return (west, south, east, north)


def planned(tms: str, bbox: Box, zooms: range) -> int:
    """How many tiles of ``tms`` cover ``bbox`` (EPSG:4490 lon/lat) over ``zooms``."""
    return count_tiles(tms, bbox, zooms)


async def seed(
    service: TileService,
    layers: Sequence[Layer],
    *,
    bbox: Box,
    zooms: range,
    tms: str = WEB_MERCATOR_QUAD,
    concurrency: int = 4,
    progress: Progress | None = None,
) -> TileRun:
    """Render each layer's default tiles into the cache (memory and the shared disk tier)."""
    run = TileRun()
    started = time.monotonic()
    queue: asyncio.Queue[tuple[int, int, int] | None] = asyncio.Queue(maxsize=concurrency * 4)

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            z, x, y = item
            tile = TileAddress(tms, z, x, y)
            size = 0
            for layer in layers:
                size += len((await service.vector_tile([layer], tile)).data)
            run.add(z, size)
            if progress:
                progress(1)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    for z, x, y in tiles_in_bbox(tms, bbox, zooms):
        await queue.put((z, x, y))
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    await service.settled()
    run.seconds = time.monotonic() - started
    return run


def _hilbert_order(bbox: Box, zooms: range) -> list[tuple[int, int, int, int]]:
    tiles = [(zxy_to_tileid(z, x, y), z, x, y) for z, x, y in tiles_in_bbox(WEB_MERCATOR_QUAD, bbox, zooms)]
    tiles.sort()
    return tiles


def pmtiles_metadata(layers: Sequence[Layer], *, name: str) -> dict[str, Any]:
    """The PMTiles metadata of an export: name, attribution and TileJSON-style vector layers."""
    attributions = sorted({layer.metadata.attribution for layer in layers if layer.metadata.attribution})
    return {
        "name": name,
        "format": "pbf",
        "type": "overlay",
        "description": "One Map 一张图 vector tiles (EPSG:3857 WebMercatorQuad); sample layers say 示例数据.",
        "attribution": "; ".join(attributions),
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title_zh,
                "minzoom": layer.min_zoom,
                "maxzoom": layer.max_zoom,
                "fields": {f.name: f.title_en for f in layer.attributes.fields},
                "x-low-zoom-fields": list(properties_for(layer)),
                "x-sample": layer.metadata.sample,
            }
            for layer in layers
        ],
    }


async def export_pmtiles(
    service: TileService,
    layers: Sequence[Layer],
    *,
    bbox: Box,
    zooms: range,
    path: Path,
    name: str = "onemap",
    progress: Progress | None = None,
) -> TileRun:
    """Write every non-empty tile (all ``layers`` in one MVT, gzip-compressed) to a PMTiles v3 file.

    Tiles are rendered in tile-id (Hilbert) order, so the archive is clustered.
    """
    run = TileRun()
    started = time.monotonic()
    order = _hilbert_order(bbox, zooms)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("wb") as fh:
        writer = Writer(fh)  # type: ignore[no-untyped-call]
        for tile_id, z, x, y in order:
            data = (await service.vector_tile(layers, TileAddress(WEB_MERCATOR_QUAD, z, x, y))).data
            run.add(z, len(data))
            if data:
                writer.write_tile(tile_id, gzip.compress(data, mtime=0))  # type: ignore[no-untyped-call]
            if progress:
                progress(1)
        if run.non_empty == 0:
            raise ValueError("no tile in that bbox and zoom range holds any feature; nothing to export")
        west, south, east, north = bbox
        first_z = min(run.per_zoom)
        writer.finalize(  # type: ignore[no-untyped-call]
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": first_z,
                "center_lon_e7": int((west + east) / 2 * 1e7),
                "center_lat_e7": int((south + north) / 2 * 1e7),
            },
            pmtiles_metadata(layers, name=name),
        )
    tmp.replace(path)
    run.seconds = time.monotonic() - started
    return run


def describe(run: TileRun) -> str:
    """One line for people: tiles, per-zoom counts, time and sizes of a run."""
    zooms = ", ".join(f"z{z}: {n}" for z, n in sorted(run.per_zoom.items()))
    mean = run.bytes / run.non_empty if run.non_empty else 0
    return (
        f"{run.tiles} tiles ({run.non_empty} with data; {zooms or 'none'}) in {run.seconds:.1f} s; "
        f"{run.bytes / 1e6:.1f} MB, mean {mean / 1024:.1f} KB, largest {run.largest / 1024:.1f} KB"
    )


def layer_extent(ranges: list[Box | None]) -> Box | None:
    """The union of the non-empty boxes (EPSG:4490 lon/lat), or None."""
    boxes = [b for b in ranges if b is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def check_range(tms: str, bbox: Box, zooms: range) -> None:
    """Refuse a bbox (EPSG:4490 lon/lat) that covers no tile of ``tms`` at any of ``zooms``."""
    if all(tile_range(tms, bbox, z) is None for z in zooms):
        raise ValueError("the bbox lies outside the tile matrix set")


def dumps(run: TileRun) -> str:
    """The run as JSON (for ``--json`` output)."""
    return json.dumps(run.__dict__)
