"""3D Tiles benchmark: ``python -m benchmarks.threed [--bbox w,s,e,n] [--repeat 7]``.

On the sample city (loaded once into ``onemap_threed`` of the private benchmark cluster, or the
database given with ``--database-url``) it reports, in one run on the same machine:

* the densest content tile of the pipes (the 3D cell holding the most segments of any category) and
  of the buildings: size, cold render time (median of ``--repeat``, cache bypassed) beside the raw
  SQL floor (the content query alone) and an MVT tile of the same cell (CGCS2000Quad, same level);
  then the cached time and the cold/cached ratio;
* seeding every content tile of the 18 pipeline layers: time, tiles, bytes, peak memory (RSS);
* bytes per 1,000 pipe segments as glb (compact, and as before quantization) and as MVT over the
  same full-detail cells (MVT with every attribute, as the glb carries them; the CGCS2000Quad tile
  of the same level and address); the city-scale (coarse) tiles' count and bytes apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.settings import PROJECT, WORK
from layers.cluster import PrivateCluster
from layers.db import connect, create_pool
from layers.migrate import migrate
from layers.model import Layer
from layers.registry import Registry
from layers.settings import DatabaseSettings
from layers.temporal import Current
from spatial.tms import CGCS2000_QUAD
from tiles.gltf_writer import write_glb
from tiles.mvt import TileAddress
from tiles.query import TileQuery
from tiles.service import TileService
from tiles.settings import TileSettings
from tiles.threed_build import build_content
from tiles.threed_export import content_cells, seed_3d
from tiles.threed_kinds import CONTENT_ZOOM, kind_of
from tiles.threed_query import Cell, cell_rows, cells
from tiles.threed_service import ThreeDService
from tiles.threed_tileset import leaf_frame

MB = 1024 * 1024


def database_url(explicit: str | None) -> str:
    """``explicit``, else the ``onemap_threed`` database of the private cluster under benchmarks/.work."""
    if explicit:
        return explicit
    cluster = PrivateCluster(WORK / "pg")
    cluster.init()
    cluster.start()
    cluster.ensure_database("onemap_threed")
    return cluster.url("onemap_threed")


async def load_city(url: str, bbox: tuple[float, float, float, float] | None) -> None:
    """Migrate and load the sample city (skipped when it is there)."""
    from sample.loader import load_sample

    await migrate(url)
    report = await load_sample(url, data_dir=PROJECT / "sample" / "data", progress=True, bbox=bbox)
    print(f"sample city: {'already loaded' if report.skipped else f'loaded in {report.seconds:.0f} s'}")


async def _median_ms(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    return (await _medians(fn, repeat))[0]


async def _medians(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (this process: Python, numpy, glTF writing; not PostgreSQL) milliseconds."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        await fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return statistics.median(wall), statistics.median(cpu)


async def densest(service: TileService, layers: list[Layer]) -> tuple[Layer, Cell]:
    """The layer and content cell holding the most features."""
    best: tuple[Layer, Cell] | None = None
    async with service.pool.acquire() as conn:
        for layer in layers:
            for c in await cells(conn, layer, kind_of(layer), kind_of(layer).zoom, Current()):
                if best is None or c.count > best[1].count:
                    best = (layer, c)
    assert best is not None, "no features: load the sample city first"
    return best


async def tile_figures(service: TileService, threed: ThreeDService, layer: Layer, cell: Cell,
                       repeat: int) -> dict[str, Any]:
    """Size, cold, floor, MVT and cached times of one content tile."""
    z, x, y = kind_of(layer).zoom, cell.x, cell.y
    kind = kind_of(layer)

    async def floor() -> None:
        async with service.pool.acquire() as conn:
            await cell_rows(conn, service.registry, layer, kind, z, x, y, Current())

    cold, cold_cpu = await _medians(lambda: threed.content(layer, z, x, y, use_cache=False), repeat)
    floor_ms = await _median_ms(floor, repeat)
    mvt_tile = TileAddress(CGCS2000_QUAD, z, x, y)
    mvt_ms = await _median_ms(lambda: service.vector_tile([layer], mvt_tile, use_cache=False), repeat)
    data = (await threed.content(layer, z, x, y)).data
    cached = await _median_ms(lambda: threed.content(layer, z, x, y), repeat * 20)
    every = TileQuery(properties=tuple(layer.attributes.names))
    mvt = (await service.vector_tile([layer], mvt_tile, every, use_cache=False)).data
    return {"layer": layer.id, "cell": f"{z}/{x}/{y}", "features": cell.count, "bytes": len(data),
            "mvt_bytes": len(mvt), "cold_ms": cold, "cold_cpu_ms": cold_cpu, "floor_ms": floor_ms,
            "mvt_cold_ms": mvt_ms, "cached_ms": cached}


def _print_tile(title: str, f: dict[str, Any]) -> None:
    print(f"\n{title}: {f['layer']} cell {f['cell']}, {f['features']} features")
    print(f"  glb {f['bytes'] / 1024:.1f} KB (limit 1024 KB); MVT of the same cell, every attribute, "
          f"{f['mvt_bytes'] / 1024:.1f} KB")
    print(f"  cold {f['cold_ms']:.1f} ms (limit 300) = {f['cold_ms'] / f['floor_ms']:.1f}× the SQL floor "
          f"({f['floor_ms']:.1f} ms), {f['cold_ms'] / f['mvt_cold_ms']:.1f}× an MVT tile ({f['mvt_cold_ms']:.1f} ms); "
          f"our process's CPU {f['cold_cpu_ms']:.1f} ms")
    print(f"  cached {f['cached_ms']:.3f} ms: {f['cold_ms'] / f['cached_ms']:.0f}× faster than cold (need ≥ 20×)")


async def http_figures(url: str, var_dir: Path, cell: Cell, repeat: int) -> dict[str, float]:
    """A buildings content tile over HTTP (the real app in-process): cold (caches emptied) and cached."""
    import httpx
    from pydantic import SecretStr

    from api.app import create_app
    from api.settings import ApiSettings, Settings

    settings = Settings(db=DatabaseSettings(database_url=url, var_dir=var_dir, pool_min_size=1, pool_max_size=4),
                        api=ApiSettings(env="test", data_dir=PROJECT / "sample" / "data",
                                        secret_key=SecretStr("b" * 40)),
                        tiles=TileSettings(disk_cache=False))
    app = create_app(settings)
    path = f"/collections/buildings/3dtiles/{CONTENT_ZOOM}/{cell.x}/{cell.y}.glb"
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await client.get("/collections/buildings/3dtiles/tileset.json")

        async def cold() -> None:
            app.state.tiles.memory.clear()
            r = await client.get(path)
            assert r.status_code == 200 and r.headers["x-tile-source"] == "database"

        async def cached() -> None:
            r = await client.get(path)
            assert r.status_code == 200 and r.headers["x-tile-source"] == "memory"

        cold_ms = await _median_ms(cold, repeat)
        await client.get(path)
        cached_ms = await _median_ms(cached, repeat * 5)
    return {"cold_ms": cold_ms, "cached_ms": cached_ms}


async def seeding(service: TileService, threed: ThreeDService, pipes: list[Layer]) -> dict[str, Any]:
    """Seed every pipe content tile; then the same cells as MVT, for bytes per 1,000 segments."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = await seed_3d(threed, pipes, concurrency=2)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    segments = [layer for layer in pipes if layer.id.endswith("_segments")]
    glb_bytes = float_bytes = mvt_bytes = coarse_bytes = count = coarse_tiles = 0
    for layer in segments:
        kind = kind_of(layer)
        every = TileQuery(properties=tuple(layer.attributes.names))  # MVT with every attribute, as the glb has
        doc = await threed.tileset(layer)
        async with service.pool.acquire() as conn:
            found = await cells(conn, layer, kind, kind.zoom, Current())
            count += sum(c.count for c in found)
        for z, x, y in content_cells(doc):
            if z != kind.zoom:  # a city-scale tile: counted apart, it holds trunk mains again
                coarse_bytes += len((await threed.content(layer, z, x, y)).data)
                coarse_tiles += 1
                continue
            glb_bytes += len((await threed.content(layer, z, x, y)).data)
            float_bytes += len(await uncompact(service, layer, z, x, y))
            mvt_bytes += len((await service.vector_tile([layer], TileAddress(CGCS2000_QUAD, z, x, y), every,
                                                        use_cache=False)).data)
    return {"tiles": run.tiles, "bytes": run.bytes, "seconds": run.seconds, "largest": run.largest,
            "rss_before_mb": rss_before / 1024, "rss_peak_mb": rss_after / 1024, "segments": count,
            "glb_per_1000": glb_bytes / count * 1000, "float_per_1000": float_bytes / count * 1000,
            "mvt_per_1000": mvt_bytes / count * 1000, "coarse_tiles": coarse_tiles, "coarse_bytes": coarse_bytes}


async def uncompact(service: TileService, layer: Layer, z: int, x: int, y: int) -> bytes:
    """The leaf glb as it was written before (float32 positions and normals, a colour per vertex)."""
    kind = kind_of(layer)
    async with service.pool.acquire() as conn:
        rows = await cell_rows(conn, service.registry, layer, kind, z, x, y, Current())
    return write_glb(build_content(layer, kind, rows, leaf_frame(z, x, y)), compact=False) if rows else b""


async def main_async(opts: argparse.Namespace) -> None:
    """Load, measure, print."""
    url = database_url(opts.database_url)
    bbox = tuple(float(v) for v in opts.bbox.split(",")) if opts.bbox else None
    await load_city(url, bbox)  # type: ignore[arg-type]
    conn = await connect(url)
    try:
        registry = await Registry.load(conn)
    finally:
        await conn.close()
    pool = await create_pool(url, DatabaseSettings(pool_min_size=1, pool_max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        service = TileService(pool=pool, registry=lambda: registry,
                              settings=TileSettings(cache_dir=Path(tmp) / "tiles"), var_dir=Path(tmp))
        await service.start(url)
        try:
            threed = ThreeDService(service)
            pipes = [layer for layer in registry.vector_layers() if layer.id.startswith("pipeline_")]
            segments = [layer for layer in pipes if layer.id.endswith("_segments")]
            layer, cell = await densest(service, segments)
            _print_tile("densest pipe tile", await tile_figures(service, threed, layer, cell, opts.repeat))
            layer, cell = await densest(service, [registry.get("buildings")])
            _print_tile("densest building tile", await tile_figures(service, threed, layer, cell, opts.repeat))
            h = await http_figures(url, Path(tmp) / "http", cell, opts.repeat)
            print(f"  over HTTP (the app in-process, anonymous): cold {h['cold_ms']:.1f} ms, cached "
                  f"{h['cached_ms']:.2f} ms: {h['cold_ms'] / h['cached_ms']:.0f}× faster (need ≥ 20×)")
            s = await seeding(service, threed, pipes)
            print(f"\nseeding all {len(pipes)} pipeline layers: {s['tiles']} tiles, {s['bytes'] / MB:.1f} MB "
                  f"(largest {s['largest'] / 1024:.0f} KB) in {s['seconds']:.1f} s; peak RSS {s['rss_peak_mb']:.0f} MB "
                  f"(was {s['rss_before_mb']:.0f} MB before seeding)")
            print(f"bytes per 1,000 pipe segments ({s['segments']} segments, full-detail tiles): glb "
                  f"{s['glb_per_1000'] / 1024:.0f} KB compact, {s['float_per_1000'] / 1024:.0f} KB with float32 "
                  f"positions and normals and vertex colours (before); "
                  f"MVT of the same cells {s['mvt_per_1000'] / 1024:.0f} KB "
                  f"({s['glb_per_1000'] / s['mvt_per_1000']:.1f}× MVT, was "
                  f"{s['float_per_1000'] / s['mvt_per_1000']:.1f}×)")
            print(f"city-scale (coarse) pipe tiles: {s['coarse_tiles']} tiles, "
                  f"{s['coarse_bytes'] / 1024:.0f} KB in all")
        finally:
            await service.stop()
            await pool.close()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--bbox", help="load only this part of the sample city: w,s,e,n (EPSG:4490)")
    parser.add_argument("--repeat", type=int, default=7)
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(wall times on a shared machine are inflated by that much; ratios hold)")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
