"""Every cold tile at every zoom: render each tile of the city once, one at a time, and report
latency and size per zoom (issue 15: "every cold tile at every zoom ≤ 300 ms at c=1, none over 500 KB").

``python -m benchmarks.tile_sweep`` renders through :class:`tiles.service.TileService`
in-process with its caches off (the same density count and statement the API sends, without
HTTP), on one connection to the benchmark database holding ``--size`` synthetic buildings
(default 1,000,000, loaded on first use and reused, as ``benchmarks.run`` does; the sample city
too when ``--layers`` asks for its pipelines or grid): every zoom from 0 to 16 by default
(``--zooms 10-16`` for fewer), the buildings over the city and any ``--layers`` over their own
extent. Per zoom it prints the median, p95 and **max** latency, the slowest tile, the largest
tile, the levels used, and what does not depend on the machine's load: the CPU time of the most
expensive tile, buffer accesses per tile and CPU per tile (``--serial`` keeps parallel workers
out, so the CPU is all of it). At the end, the zooms whose max is over 300 ms. The first tile of
the run opens a database session, as the first tile on every new pooled connection of the server
does, so that cost is in the max too. ``--density probe`` counts over-full tiles the old way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, PROJECT, WORK
from layers.db import create_pool
from layers.registry import Registry
from layers.settings import DatabaseSettings
from spatial.tms import WEB_MERCATOR_QUAD, tile_range
from tiles.mvt import TileAddress
from tiles.service import TileService
from tiles.settings import TileSettings


def _zooms(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


async def sweep(
    url: str, layer_ids: list[str], zooms: list[int], *, serial: bool = False, by_key: bool = True
) -> list[str]:
    """Render every tile of each layer (the city for the buildings, else the layer's extent) at each
    of ``zooms``, print latency and size per zoom, and return the rows whose max is over 300 ms."""
    # One connection: every tile's statements run on one backend, whose buffer counts and CPU time
    # are read after each zoom (_Work).
    pool = await create_pool(url, DatabaseSettings(pool_min_size=1, pool_max_size=1))
    async with pool.acquire() as conn:
        registry = await Registry.load(conn)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        if serial:  # no parallel workers: the backend's CPU time is all of the database's work
            await conn.execute("SET max_parallel_workers_per_gather = 0")
    service = TileService(pool=pool, registry=lambda: registry, var_dir=WORK / "var",
                          settings=TileSettings(memory_cache_bytes=0, disk_cache=False))
    service.count_by_key = by_key
    slow: list[str] = []
    print(f"{'layer':24s} {'zoom':>4} {'tiles':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'slowest':>16} "
          f"{'its cpu':>7} {'max KB':>8} {'>500 KB':>8} {'levels':>8} {'max cpu ms':>10} {'blocks/tile':>11} "
          f"{'cpu ms/tile':>11}",
          flush=True)
    try:
        for layer_id in layer_ids:
            layer = registry.get(layer_id).model_copy(update={"min_zoom": 0})
            bbox = CITY_BBOX_4490 if layer_id == BENCH_LAYER else await _extent(pool, layer.table)
            for z in zooms:
                before = await _Work.read(pool, layer.table)
                row, tiles = await _zoom(service, layer, bbox, z, pid)
                blocks, cpu_ms = (await _Work.read(pool, layer.table)).minus(before)
                row += f" {blocks / tiles:11.0f} {cpu_ms / tiles:11.1f}"
                print(row, flush=True)
                if float(row.split()[5]) > MAX_MS:
                    slow.append(row)
    finally:
        await pool.close()
    return slow


MAX_MS = 300.0
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` on this machine; 0 when it is elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK_MS


@dataclass(frozen=True)
class _Work:
    """Load-independent work so far: buffer accesses (hit or read) to a table and its indexes, and CPU
    time of this process plus the sweep's database backend (parallel workers' CPU is not in it)."""

    blocks: int
    cpu_ms: float

    @staticmethod
    async def read(pool: Any, table: str) -> _Work:
        async with pool.acquire() as conn:
            # Statistics are flushed when a transaction ends and at most once a second unless forced.
            await conn.execute("SELECT pg_stat_force_next_flush()")
            row = await conn.fetchrow(
                "SELECT coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) + coalesce(idx_blks_hit, 0) "
                "+ coalesce(idx_blks_read, 0) AS blocks, pg_backend_pid() AS pid "
                "FROM pg_statio_all_tables WHERE relid = $1::regclass", table)
        return _Work(int(row["blocks"]), _cpu_ms(row["pid"]) + time.process_time() * 1000)

    def minus(self, before: _Work) -> tuple[int, float]:
        return self.blocks - before.blocks, self.cpu_ms - before.cpu_ms


async def _extent(pool: Any, table: str) -> tuple[float, float, float, float]:
    async with pool.acquire() as conn:
        box = await conn.fetchrow(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "  # noqa: S608 - a registry table
            f"FROM (SELECT ST_Extent(geom) AS e FROM {table} WHERE valid_to IS NULL) s"
        )
    return (box[0], box[1], box[2], box[3])


async def _zoom(
    service: TileService, layer: Any, bbox: tuple[float, float, float, float], z: int, pid: int
) -> tuple[str, int]:
    """One table row: every tile of ``bbox`` at zoom ``z``, rendered one after another; ``pid`` is
    the database backend rendering them (for the CPU time of the most expensive tile)."""
    rng = tile_range(WEB_MERCATOR_QUAD, bbox, z)
    assert rng is not None
    ms, cpu, sizes, levels, addresses = [], [], [], [], []
    for x, y in rng.tiles():
        start, cpu_start = time.perf_counter(), _cpu_ms(pid) + time.process_time() * 1000
        result = await service.vector_tile([layer], TileAddress(WEB_MERCATOR_QUAD, z, x, y), use_cache=False)
        ms.append((time.perf_counter() - start) * 1000)
        cpu.append(_cpu_ms(pid) + time.process_time() * 1000 - cpu_start)
        sizes.append(len(result.data))
        levels.append(result.levels.get(layer.id, 0))
        addresses.append(f"{x}/{y}")
    t, s = np.array(ms), np.array(sizes)
    return (f"{layer.id:24s} {z:>4} {len(ms):>6} {np.median(t):8.1f} {np.percentile(t, 95):8.1f} {t.max():8.1f} "
            f"{addresses[int(t.argmax())]:>16} {cpu[int(t.argmax())]:7.0f} {s.max() / 1024:8.1f} "
            f"{int((s > 500_000).sum()):>8} "
            f"{min(levels)}–{max(levels):<5} {max(cpu):10.0f}"), len(ms)


async def _prepare(url: str, size: int, layers: list[str]) -> None:
    """Load ``size`` synthetic buildings (skipped when already loaded) and, when other layers are
    asked for, the sample city (skipped when already there)."""
    from benchmarks.run import prepare

    await prepare(url, size)
    if any(layer != BENCH_LAYER for layer in layers):
        from sample.loader import load_sample

        await load_sample(url, data_dir=PROJECT / "sample" / "data", progress=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the sweep; exit status 1 when a zoom's slowest tile is over 300 ms."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=1_000_000,
                    help="synthetic buildings (loaded once, reused while the size is the same; full size 1,000,000)")
    ap.add_argument("--zooms", default="0-16", help="a zoom or a range, e.g. 10-16")
    ap.add_argument("--layer", default=BENCH_LAYER, help="the first layer (the benchmark's buildings)")
    ap.add_argument("--layers", default="", help="more layers, comma-separated (pipeline_storm_segments,grid_cells)")
    ap.add_argument("--database-url", default=None, help="default: the benchmark's private cluster")
    ap.add_argument("--serial", action="store_true",
                    help="no parallel query workers, so the CPU columns hold all of the database's work")
    ap.add_argument("--density", choices=("key", "probe"), default="key",
                    help="how over-full tiles are counted: key (the server's way: index-only counts on the "
                         "(tile_zoom, tile_key) btree) or probe (capped row counts per level, as before; to compare)")
    args = ap.parse_args(argv)
    from benchmarks.run import database_url

    url = database_url(args.database_url)
    Path(WORK).mkdir(parents=True, exist_ok=True)
    layers = [args.layer, *(name for name in args.layers.split(",") if name)]
    asyncio.run(_prepare(url, args.size, layers))
    slow = asyncio.run(sweep(url, layers, _zooms(args.zooms), serial=args.serial, by_key=args.density == "key"))
    print(f"\nzooms whose slowest cold tile (c=1) is over {MAX_MS:.0f} ms: {len(slow)}")
    for row in slow:
        print(row)
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
