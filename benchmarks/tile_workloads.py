"""Tile workloads: buildings tiles at z10, z13 and z16, cold (cache off) and cached.

Targets, at the same concurrency:

* One Map — ``/collections/bench_buildings/tiles/WebMercatorQuad/{z}/{y}/{x}`` (OGC order z/y/x),
  run once with its tile cache off (``*_cold``) and once with it on after a warm-up pass that
  fetches every tile of the city once (``*_cached``);
* tipg — ``/collections/bench.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}`` (tipg's order);
* the floor — the raw ``ST_AsMVT`` statement a hand-written tile server sends (every attribute, no
  generalisation), by pgbench with no HTTP.

The warm-up also records tile sizes, printed per zoom (mean, p95, largest, share over 500 KB).
"""

from __future__ import annotations

import concurrent.futures
import urllib.error
import urllib.request
from collections.abc import Callable

import numpy as np

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, TIPG_SCHEMA, TIPG_VIEW, WORK
from benchmarks.workloads import BenchContext, FloorSpec, RequestSpec, Workload, register
from spatial.tms import WEB_MERCATOR_QUAD, tile_range

ZOOMS = (10, 13, 16)
LIMIT_BYTES = 500_000
COLD_ENV = {"ONEMAP_TILE_MEMORY_CACHE_BYTES": "0", "ONEMAP_TILE_DISK_CACHE": "false"}
CACHED_ENV = {"ONEMAP_TILE_DISK_CACHE": "true", "ONEMAP_VAR_DIR": str(WORK / "var")}
OM = f"/collections/{BENCH_LAYER}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
TIPG = f"/collections/{TIPG_SCHEMA}.{TIPG_VIEW}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"


def raw_floor(ctx: BenchContext, z: int) -> FloorSpec:
    """The textbook ST_AsMVT query over current rows, random tiles of the city at zoom ``z``."""
    rng = tile_range(WEB_MERCATOR_QUAD, CITY_BBOX_4490, z)
    assert rng is not None
    cols = ", ".join(f't."{f.name}"' for f in ctx.layer.attributes.fields)
    sql = (
        f"SELECT ST_AsMVT(q, '{BENCH_LAYER}', 4096, 'geom', 'fid') FROM ("  # noqa: S608 - registry names
        f"SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope({z}, :x, :y), 4096, 64, true) AS geom, "
        f"t.fid, {cols} FROM {ctx.layer.table} t "
        f"WHERE t.valid_to IS NULL AND t.geom && ST_Transform(ST_TileEnvelope({z}, :x, :y), 4490)) q;"
    )
    sets = f"\\set x random({rng.x0}, {rng.x1})\n\\set y random({rng.y0}, {rng.y1})\n"
    return FloorSpec(sets + sql + "\n")


def _fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=300) as resp:
            return len(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 204:
            return 0
        raise


def warm(z: int) -> Callable[[str, BenchContext], None]:
    """A warm-up step that requests every city tile of zoom ``z`` once (so they are cached) and records their sizes."""
    def run(base: str, ctx: BenchContext) -> None:
        rng = tile_range(WEB_MERCATOR_QUAD, CITY_BBOX_4490, z)
        assert rng is not None
        urls = [f"{base}/collections/{BENCH_LAYER}/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in rng.tiles()]
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            sizes = np.array(list(pool.map(_fetch, urls)), dtype=float)
        data = sizes[sizes > 0]
        ctx.extra.setdefault("tile_sizes", {})[z] = sizes.tolist()
        if data.size:
            print(f"    z{z}: {len(urls)} tiles, {data.size} with data; size mean {data.mean() / 1024:.1f} KB, "
                  f"p95 {np.percentile(data, 95) / 1024:.1f} KB, largest {data.max() / 1024:.1f} KB, "
                  f"over 500 KB: {int((data > LIMIT_BYTES).sum())}", flush=True)
        else:
            print(f"    z{z}: {len(urls)} tiles, all empty (features below a pixel are dropped)", flush=True)

    return run


Target = Callable[[BenchContext], RequestSpec | FloorSpec]


def _http(path: str, z: int) -> Target:
    return lambda _ctx: RequestSpec(path, tile_zoom=z)


def _floor(z: int) -> Target:
    return lambda ctx: raw_floor(ctx, z)


for _z in ZOOMS:
    register(Workload(
        f"tiles_z{_z}_cold", f"buildings MVT tile at z{_z}, One Map's tile cache off",
        {
            "onemap": _http(OM, _z),
            "tipg": _http(TIPG, _z),
            "floor": _floor(_z),
        },
        onemap_env=COLD_ENV,
    ))
    register(Workload(
        f"tiles_z{_z}_cached", f"buildings MVT tile at z{_z}, served from One Map's cache (after a warm-up)",
        {"onemap": _http(OM, _z)},
        onemap_env=CACHED_ENV,
        warmup=warm(_z),
    ))
