"""Tile workloads: buildings tiles from the city overview (z10) to full detail (z16), cold and
cached, and the sample pipelines and unit grid at their overview zooms (issues 4 and 15).

Targets, at the same concurrency:

* One Map — ``/collections/<layer>/tiles/WebMercatorQuad/{z}/{y}/{x}`` (OGC order z/y/x), run
  with its tile cache off (``*_cold``) and with it on after a warm-up pass that fetches every
  tile of the area once (``*_cached``). One Map's overview tiles are complete: every feature at
  least half a pixel big in the whole tile (tests/tiles/test_generalise.py), thinned by levels
  only when the tile would pass 500 KB;
* tipg — ``/collections/bench.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}`` (tipg's order),
  which stops at ``TIPG_MAX_FEATURES_PER_QUERY`` = 10,000 features;
* the floor — the textbook ``ST_AsMVT`` statement, by pgbench with no HTTP. From z10 to z12 it
  is **capped** like tipg (``ORDER BY fid LIMIT 10000``: the first 10,000 ids, a truncated tile)
  because the complete statement would encode up to a million features; at z13 and z16 it is
  the complete statement (every feature, every attribute, no generalisation), as before.
  ``tiles_z10_complete`` puts One Map's z10 tile beside the complete z10 statement, to show what
  not truncating costs the floor.

Pipelines (``pipeline_storm_segments``, the largest network) and the grid (``grid_cells``) come
from the sample city, loaded into the benchmark database on first use (about a minute) and
opened to anonymous reads there (see :func:`_sample_ready`). Their tiles are drawn over the
layer's own extent, not the whole city.

The cached warm-up also prints, per zoom, tile sizes and feature counts (mean, p95, largest,
how many over 500 KB).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import numpy as np

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, PROJECT, TIPG_SCHEMA, TIPG_VIEW, WORK
from benchmarks.workloads import BenchContext, FloorSpec, RequestSpec, Workload, register
from layers.model import Layer
from spatial.tms import WEB_MERCATOR_QUAD, tile_range

Box = tuple[float, float, float, float]

ZOOMS = (10, 11, 12, 13, 16)
CAPPED = (10, 11, 12)  # zooms whose floor stops at FLOOR_CAP features, as tipg does
FLOOR_CAP = 10_000
LIMIT_BYTES = 500_000
COLD_ENV = {"ONEMAP_TILE_MEMORY_CACHE_BYTES": "0", "ONEMAP_TILE_DISK_CACHE": "false"}
CACHED_ENV = {"ONEMAP_TILE_DISK_CACHE": "true", "ONEMAP_VAR_DIR": str(WORK / "var")}
TIPG = f"/collections/{TIPG_SCHEMA}.{TIPG_VIEW}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
# Sample layers at their overview zooms: from min_zoom (layers/definitions/*.yaml) to the last
# generalised zoom (tiles.generalise.FULL_DETAIL_ZOOM - 1).
SAMPLE_LAYERS = {"pipes": ("pipeline_storm_segments", (13, 15)), "grid": ("grid_cells", (13, 15))}


def _om(layer_id: str) -> str:
    return f"/collections/{layer_id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"


def raw_floor(ctx: BenchContext, z: int, *, layer: Layer | None = None, bbox: Box = CITY_BBOX_4490,
              cap: int | None = None) -> FloorSpec:
    """The textbook ST_AsMVT query over current rows, random tiles of ``bbox`` at zoom ``z``;
    with ``cap``, only the first ``cap`` features by id (what tipg serves)."""
    lay: Layer = layer or ctx.layer
    rng = tile_range(WEB_MERCATOR_QUAD, bbox, z)
    assert rng is not None
    cols = ", ".join(f't."{f.name}"' for f in lay.attributes.fields)
    limit = f" ORDER BY t.fid LIMIT {cap}" if cap else ""
    sql = (
        f"SELECT ST_AsMVT(q, '{lay.id}', 4096, 'geom', 'fid') FROM ("  # noqa: S608 - registry names
        f"SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope({z}, :x, :y), 4096, 64, true) AS geom, "
        f"t.fid, {cols} FROM {lay.table} t "
        f"WHERE t.valid_to IS NULL AND t.geom && ST_Transform(ST_TileEnvelope({z}, :x, :y), 4490){limit}) q;"
    )
    sets = f"\\set x random({rng.x0}, {rng.x1})\n\\set y random({rng.y0}, {rng.y1})\n"
    return FloorSpec(sets + sql + "\n")


def _fetch(url: str) -> tuple[int, int]:
    """Bytes and features of one tile (0, 0 when empty)."""
    try:
        with urllib.request.urlopen(url, timeout=300) as resp:
            data = resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 204:
            return 0, 0
        raise
    try:
        import mapbox_vector_tile  # type: ignore[import-untyped]  # a test dependency: counts are optional
    except ImportError:
        return len(data), -1
    layers = mapbox_vector_tile.decode(data) if data else {}
    return len(data), sum(len(lay["features"]) for lay in layers.values())


def warm(z: int, layer_id: str = BENCH_LAYER, bbox: Box = CITY_BBOX_4490) -> Callable[[str, BenchContext], None]:
    """A warm-up step that requests every tile of ``bbox`` at zoom ``z`` once (so they are cached)
    and prints their sizes and feature counts."""
    def run(base: str, ctx: BenchContext) -> None:
        rng = tile_range(WEB_MERCATOR_QUAD, bbox, z)
        assert rng is not None
        urls = [f"{base}/collections/{layer_id}/tiles/WebMercatorQuad/{z}/{y}/{x}" for x, y in rng.tiles()]
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            got = np.array(list(pool.map(_fetch, urls)), dtype=float)
        sizes, features = got[:, 0], got[:, 1]
        data = sizes[sizes > 0]
        ctx.extra.setdefault("tile_sizes", {})[(layer_id, z)] = sizes.tolist()
        if data.size:
            print(f"    {layer_id} z{z}: {len(urls)} tiles, {data.size} with data; "
                  f"size mean {data.mean() / 1024:.1f} KB, p95 {np.percentile(data, 95) / 1024:.1f} KB, "
                  f"largest {data.max() / 1024:.1f} KB, over 500 KB: {int((data > LIMIT_BYTES).sum())}; "
                  f"features mean {features[sizes > 0].mean():.0f}, largest {features.max():.0f}", flush=True)
        else:
            print(f"    {layer_id} z{z}: {len(urls)} tiles, all empty", flush=True)

    return run


# -- the sample layers (pipelines, grid) --------------------------------------------------------------

def _sample_ready(ctx: BenchContext) -> None:
    """Load the sample city into the benchmark database once, open the sample layers to anonymous
    reads there, and find their extents.

    They are restricted and internal layers: asked with an API key, every request also pays for
    sign-in and the access audit (measured: cached tiles at 224-400 req/s against 7,700-17,000 for
    a public layer), which is per request, not per tile. Opening them in this throwaway database
    (``migrate`` puts the built-in access back on the next run) measures the tiles alone.
    """
    if "sample_layers" in ctx.extra:
        return
    from layers.db import connect
    from layers.registry import REGISTRY_CHANNEL, Registry
    from sample.loader import load_sample

    url = ctx.extra["database_url"]
    ids = [layer_id for layer_id, _ in SAMPLE_LAYERS.values()]

    async def go() -> None:
        await load_sample(url, data_dir=PROJECT / "sample" / "data", progress=True)
        conn = await connect(url)
        try:
            await conn.execute("UPDATE onemap.layers SET access = 'public' WHERE id = ANY($1::text[])", ids)
            await conn.execute("SELECT pg_notify($1, $2)", REGISTRY_CHANNEL, ",".join(ids))
            registry = await Registry.load(conn)
            found = {}
            for layer_id in ids:
                layer = registry.get(layer_id)
                box = await conn.fetchrow(
                    f"SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 "  # noqa: S608
                    f"FROM (SELECT ST_Extent(geom) AS e FROM {layer.table} WHERE valid_to IS NULL) s"
                )
                found[layer_id] = (layer, (box["x0"], box["y0"], box["x1"], box["y1"]))
            ctx.extra["sample_layers"] = found
        finally:
            await conn.close()

    asyncio.run(go())
    time.sleep(2)  # running servers reload their registry on the notification


def _sample_request(layer_id: str, z: int) -> Target:
    def spec(ctx: BenchContext) -> RequestSpec:
        _sample_ready(ctx)
        _, bbox = ctx.extra["sample_layers"][layer_id]
        return RequestSpec(_om(layer_id), tile_zoom=z, tile_bbox=bbox)
    return spec


def _sample_floor(layer_id: str, z: int) -> Target:
    def spec(ctx: BenchContext) -> FloorSpec:
        _sample_ready(ctx)
        layer, bbox = ctx.extra["sample_layers"][layer_id]
        return raw_floor(ctx, z, layer=layer, bbox=bbox, cap=FLOOR_CAP)
    return spec


def _sample_warm(layer_id: str, z: int) -> Callable[[str, BenchContext], None]:
    def run(base: str, ctx: BenchContext) -> None:
        _sample_ready(ctx)
        _, bbox = ctx.extra["sample_layers"][layer_id]
        warm(z, layer_id, bbox)(base, ctx)
    return run


Target = Callable[[BenchContext], RequestSpec | FloorSpec]


def _http(path: str, z: int) -> Target:
    return lambda _ctx: RequestSpec(path, tile_zoom=z)


def _floor(z: int) -> Target:
    return lambda ctx: raw_floor(ctx, z, cap=FLOOR_CAP if z in CAPPED else None)


for _z in ZOOMS:
    register(Workload(
        f"tiles_z{_z}_cold",
        f"buildings MVT tile at z{_z}, One Map's tile cache off"
        + (f" (floor and tipg capped at {FLOOR_CAP:,} features)" if _z in CAPPED else ""),
        {
            "onemap": _http(_om(BENCH_LAYER), _z),
            "tipg": _http(TIPG, _z),
            "floor": _floor(_z),
        },
        onemap_env=COLD_ENV,
    ))
    register(Workload(
        f"tiles_z{_z}_cached", f"buildings MVT tile at z{_z}, served from One Map's cache (after a warm-up)",
        {"onemap": _http(_om(BENCH_LAYER), _z)},
        onemap_env=CACHED_ENV,
        warmup=warm(_z),
    ))

# The cost of not truncating: One Map's complete z10 tile beside the complete raw statement (every
# building under the tile, every attribute; what the capped floor would be without its LIMIT).
register(Workload(
    "tiles_z10_complete",
    "buildings MVT tile at z10, One Map's tile cache off; floor complete (no LIMIT: every building in the tile)",
    {"onemap": _http(_om(BENCH_LAYER), 10), "floor": lambda ctx: raw_floor(ctx, 10)},
    onemap_env=COLD_ENV,
))

for _name, (_layer_id, (_lo, _hi)) in SAMPLE_LAYERS.items():
    for _z in range(_lo, _hi + 1):
        register(Workload(
            f"tiles_{_name}_z{_z}_cold",
            f"{_layer_id} MVT tile at z{_z} (sample city), One Map's tile cache off; floor capped at {FLOOR_CAP:,}",
            {"onemap": _sample_request(_layer_id, _z), "floor": _sample_floor(_layer_id, _z)},
            onemap_env=COLD_ENV,
        ))
        register(Workload(
            f"tiles_{_name}_z{_z}_cached", f"{_layer_id} MVT tile at z{_z}, from One Map's cache (after a warm-up)",
            {"onemap": _sample_request(_layer_id, _z)},
            onemap_env=CACHED_ENV,
            warmup=_sample_warm(_layer_id, _z),
        ))
