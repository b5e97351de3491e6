"""Every cold tile at every zoom: render each tile of the city once, one at a time, and report
latency and size per zoom (issue 15: "every cold tile at every zoom ≤ 300 ms at c=1, none over 500 KB").

``python -m benchmarks.tile_sweep --zooms 10-16`` renders through :class:`tiles.service.TileService`
in-process with its caches off (the same density probe and statement the API sends, without
HTTP), on the benchmark database that ``benchmarks.run`` loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import numpy as np

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, WORK
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


async def sweep(url: str, layer_id: str, zooms: list[int]) -> None:
    """Render every city tile of ``layer_id`` at each of ``zooms`` and print latency and size."""
    pool = await create_pool(url, DatabaseSettings(pool_min_size=1, pool_max_size=2))
    async with pool.acquire() as conn:
        registry = await Registry.load(conn)
    layer = registry.get(layer_id).model_copy(update={"min_zoom": 0})
    service = TileService(pool=pool, registry=lambda: registry, var_dir=WORK / "var",
                          settings=TileSettings(memory_cache_bytes=0, disk_cache=False))
    print(f"{'zoom':>4} {'tiles':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'max KB':>8} {'>500 KB':>8} "
          f"{'levels':>10}", flush=True)
    try:
        for z in zooms:
            rng = tile_range(WEB_MERCATOR_QUAD, CITY_BBOX_4490, z)
            assert rng is not None
            ms, sizes, levels = [], [], []
            for x, y in rng.tiles():
                start = time.perf_counter()
                result = await service.vector_tile([layer], TileAddress(WEB_MERCATOR_QUAD, z, x, y), use_cache=False)
                ms.append((time.perf_counter() - start) * 1000)
                sizes.append(len(result.data))
                levels.append(result.levels.get(layer.id, 0))
            t, s = np.array(ms), np.array(sizes)
            print(f"{z:>4} {len(ms):>6} {np.median(t):8.1f} {np.percentile(t, 95):8.1f} {t.max():8.1f} "
                  f"{s.max() / 1024:8.1f} {int((s > 500_000).sum()):>8} {min(levels)}–{max(levels):<7}", flush=True)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the sweep."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--zooms", default="10-16", help="a zoom or a range, e.g. 10-16")
    ap.add_argument("--layer", default=BENCH_LAYER)
    ap.add_argument("--database-url", default=None, help="default: the benchmark's private cluster")
    args = ap.parse_args(argv)
    from benchmarks.run import database_url

    url = database_url(args.database_url)
    Path(WORK).mkdir(parents=True, exist_ok=True)
    asyncio.run(sweep(url, args.layer, _zooms(args.zooms)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
