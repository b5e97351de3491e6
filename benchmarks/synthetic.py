"""A city-scale synthetic building layer, loaded through :mod:`layers.bulk` into a registered layer.

Footprints are small rotated rectangles scattered over central Changsha with a
denser core, so a 500 m box holds a few hundred buildings at 1,000,000 — about
what the real city centre has. Loading goes through the same staging/merge path
imports use, so the table has exactly One Map's shape (system columns, partial
indexes, history index).
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import numpy as np
import shapely

from benchmarks.settings import BENCH_LAYER, CITY_BBOX_4490, TIPG_SCHEMA, TIPG_VIEW
from layers.bulk import copy_rows, create_staging, insert_all
from layers.model import Layer, LayerDef
from layers.registry import Registry, register_layer
from layers.versioning import open_changeset

USES = ["residential", "commercial", "industrial", "public", "education", "other"]
BATCH = 100_000

LAYER_DEF = {
    "id": BENCH_LAYER,
    "title_zh": "基准测试建筑（合成数据）",
    "title_en": "Benchmark buildings (synthetic)",
    "group": "overlay",
    "geometry_type": "Polygon",
    "access": "public",
    "schema": {
        "fields": [
            {"name": "name", "type": "string", "title_zh": "名称", "title_en": "Name"},
            {"name": "use", "type": "string", "title_zh": "用途", "title_en": "Use"},
            {"name": "height_m", "type": "number", "title_zh": "高度", "title_en": "Height"},
            {"name": "floors", "type": "integer", "title_zh": "层数", "title_en": "Floors"},
            {"name": "year_built", "type": "integer", "title_zh": "建成年代", "title_en": "Year built"},
        ]
    },
}


def footprints(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre points (lon, lat) and footprint polygons (shapely array) for ``n`` buildings."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = CITY_BBOX_4490
    core = rng.random(n) < 0.5
    cx = np.where(core, rng.normal(112.975, 0.03, n), rng.uniform(xmin, xmax, n)).clip(xmin, xmax)
    cy = np.where(core, rng.normal(28.20, 0.025, n), rng.uniform(ymin, ymax, n)).clip(ymin, ymax)
    half_w = rng.uniform(0.00006, 0.00025, n)
    half_h = rng.uniform(0.00005, 0.00020, n)
    angle = rng.uniform(0, np.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    dx = corners[None, :, 0] * half_w[:, None]
    dy = corners[None, :, 1] * half_h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    xs = cx[:, None] + dx * cos - dy * sin
    ys = cy[:, None] + dx * sin + dy * cos
    rings = np.stack([xs, ys], axis=-1)
    polys = shapely.polygons(rings)
    return np.column_stack([cx, cy]), polys


async def ensure_layer(conn: asyncpg.Connection) -> Layer:
    """The synthetic buildings layer, registered on first use."""
    registry = await Registry.load(conn)
    found = registry.find(BENCH_LAYER)
    if found is not None:
        return found
    return await register_layer(conn, LayerDef.model_validate(LAYER_DEF))


async def current_count(conn: asyncpg.Connection, layer: Layer) -> int:
    """How many current features the synthetic layer holds."""
    count: int = await conn.fetchval(f"SELECT count(*) FROM {layer.table} WHERE valid_to IS NULL")  # noqa: S608
    return count


async def load(conn: asyncpg.Connection, *, size: int, seed: int = 20261123) -> Layer:
    """Make the bench layer hold exactly ``size`` current buildings (reloads when it differs)."""
    layer = await ensure_layer(conn)
    if await current_count(conn, layer) == size:
        return layer
    await conn.execute(f"TRUNCATE {layer.table}")
    _, polys = footprints(size, seed)
    rng = np.random.default_rng(seed + 1)
    heights = np.round(rng.gamma(2.0, 9.0, size), 1)
    floors = np.maximum(1, (heights / 3.0).astype(int))
    years = rng.integers(1950, 2025, size)
    uses = rng.integers(0, len(USES), size)
    wkb = shapely.to_wkb(polys)
    valid_from = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    changeset = await open_changeset(conn, actor="benchmark", source="admin", note=f"synthetic {size}")
    for start in range(0, size, BATCH):
        stop = min(size, start + BATCH)
        staging = await create_staging(conn, layer)
        rows = (
            (i, wkb[i], valid_from, f"楼{i}", USES[uses[i]], float(heights[i]), int(floors[i]), int(years[i]))
            for i in range(start, stop)
        )
        await copy_rows(conn, staging, rows)
        await insert_all(conn, staging, changeset_id=changeset)
    await conn.execute(f"ANALYZE {layer.table}")
    return layer


async def tipg_view(conn: asyncpg.Connection, layer: Layer) -> None:
    """A view of current rows for tipg: the same table, indexes and predicate One Map uses."""
    cols = ", ".join(f'"{f.name}"' for f in layer.attributes.fields)
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {TIPG_SCHEMA}")
    await conn.execute(
        f"CREATE OR REPLACE VIEW {TIPG_SCHEMA}.{TIPG_VIEW} AS "  # noqa: S608
        f"SELECT fid, geom, {cols} FROM {layer.table} WHERE valid_to IS NULL"
    )
