"""The benchmark city for the case system: a synthetic unit grid, components and N historical cases.

The grid (9,000 cells of ~100 m in five district bands) and 30,000 components are staged from
Python; the cases (2 % in an open state — a backlog of ~20,000 at a million, a quarter of it hung;
the rest closed, rejected or cancelled) are generated set-based in SQL into the staging table and written with
:func:`layers.bulk.insert_all` — the versioned write path — then logged with
:func:`cases.backfill.backfill_events`. Deterministic (``setseed``).
"""

from __future__ import annotations

import random
import time

import asyncpg
import shapely
from shapely.geometry import MultiPolygon, Point, box

from cases.backfill import allow_bulk_history, backfill_events
from layers.bulk import copy_rows, create_staging, insert_all
from layers.registry import Registry
from layers.versioning import open_changeset

WEST, SOUTH = 112.90, 28.13
DX, DY = 0.001, 0.0009
COLS, ROWS = 100, 90
DISTRICTS = ("430104", "430103", "430102", "430105", "430111")
MINORS = ("0101", "0102", "0103", "0105", "0106", "0121", "0302", "0202")
DEPARTMENTS = ("cg", "cg-430104", "cg-430103", "cg-430102", "cg-430105", "cg-430111", "sw", "ps", "ga", "hb", "zj",
               "ld", "tx", "gd", "yl", "gs")

CASES_SQL = """
INSERT INTO {stage} (row_no, geom_wkb, valid_from, case_no, source, kind, big_class, small_class, description,
  grid_code, community, street, district, component_code, department, state, urgency, reported_at, accepted_at,
  dispatched_at, deadline_at, completed_at, closed_at, reporter, handler, rework_count)
SELECT n, ST_AsBinary(ST_SetSRID(ST_MakePoint(c.x0 + r.rx * {dx}, c.y0 + r.ry * {dy}), 4490)), r.reported_at,
  to_char(r.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || lpad((n % 10000)::text, 4, '0'),
  (ARRAY['inspector','inspector','inspector','public','hotline','system'])[1 + (r.rs * 6)::int % 6],
  'event', substr(r.small, 1, 2), r.small, '基准数据', c.grid_code, substr(c.grid_code, 1, 12),
  substr(c.grid_code, 1, 9), substr(c.grid_code, 1, 6), NULL,
  (ARRAY[{departments}])[1 + (r.rd * {n_departments})::int % {n_departments}], s.state, 'normal', r.reported_at,
  CASE WHEN s.state NOT IN ('reported', 'rejected') THEN r.reported_at + interval '30 min' END,
  CASE WHEN s.state IN ('dispatched','completed','verifying','closed','returned','extended')
       THEN r.reported_at + interval '1 hour' END,
  CASE WHEN s.state NOT IN ('reported', 'rejected') THEN r.reported_at + interval '9 hours' END,
  CASE WHEN s.state IN ('completed','verifying','closed')
       THEN r.reported_at + interval '1 hour' + r.rt * interval '12 hours' END,
  CASE WHEN s.state = 'closed' THEN r.reported_at + interval '3 hours' + r.rt * interval '12 hours' END,
  '基准监督员' || lpad(((r.rs * 300)::int)::text, 3, '0'), NULL, (r.rw < 0.04)::int
FROM generate_series(1, {n}) n
CROSS JOIN LATERAL (SELECT random() AS rc, random() AS rx, random() AS ry, random() AS rs, random() AS rd,
                           random() AS rt, random() AS rw, random() AS rstate,
                           now() - random() * interval '365 days' AS reported_at,
                           (ARRAY['0101','0103','0201','0301','0302','0402','0501','0502','0504','0505','0601'])
                             [1 + (random() * 11)::int % 11] AS small, n AS k) r
JOIN bench_cells c ON c.i = (r.rc * {n_cells})::int % {n_cells}
CROSS JOIN LATERAL (SELECT CASE
  WHEN r.rstate < 0.92 THEN 'closed' WHEN r.rstate < 0.97 THEN 'rejected' WHEN r.rstate < 0.98 THEN 'cancelled'
  WHEN r.rstate < 0.985 THEN 'hung' WHEN r.rstate < 0.988 THEN 'reported' WHEN r.rstate < 0.99 THEN 'accepted'
  WHEN r.rstate < 0.996 THEN 'dispatched' WHEN r.rstate < 0.998 THEN 'completed' WHEN r.rstate < 0.9988 THEN 'verifying'
  WHEN r.rstate < 0.9994 THEN 'returned' ELSE 'extended' END AS state) s
"""


def grid_rows() -> list[tuple[object, ...]]:
    """Staging rows of the grid: 6 + 3 + 3 + 2 digit codes, 5 × 5 cells a 社区, 4 × 4 社区 a 街道."""
    rows: list[tuple[object, ...]] = []
    band = COLS // len(DISTRICTS)
    for i in range(COLS):
        for j in range(ROWS):
            district = DISTRICTS[i // band]
            ci, cj = (i % band) // 5, j // 5
            street = (ci // 4) * 10 + cj // 4 + 1
            community = (ci % 4) * 4 + cj % 4 + 1
            seq = (4 - j % 5) * 5 + (i % 5) + 1
            code = f"{district}{street:03d}{community:03d}{seq:02d}"
            cell = MultiPolygon([box(WEST + i * DX, SOUTH + j * DY, WEST + (i + 1) * DX, SOUTH + (j + 1) * DY)])
            rows.append((len(rows), shapely.to_wkb(cell), None, code, district, f"{street:03d}", f"{community:03d}",
                         9000.0))
    return rows


def component_rows(n: int = 30_000) -> list[tuple[object, ...]]:
    """Staging rows of ``n`` components of a few classes, scattered over the grid."""
    rnd = random.Random(11)
    rows: list[tuple[object, ...]] = []
    for k in range(n):
        minor = MINORS[k % len(MINORS)]
        lon, lat = WEST + rnd.random() * COLS * DX, SOUTH + rnd.random() * ROWS * DY
        district = DISTRICTS[min(int((lon - WEST) / DX) // (COLS // len(DISTRICTS)), len(DISTRICTS) - 1)]
        rows.append((k, shapely.to_wkb(Point(lon, lat)), None, f"{district}{minor}{k:06d}", "基准部件", minor[:2],
                     minor, None, "长沙水业集团有限公司", None, "1", None, "B"))
    return rows


async def _stage(conn: asyncpg.Connection, registry: Registry, layer_id: str, rows: list[tuple[object, ...]]) -> None:
    layer = registry.get(layer_id)
    staging = await create_staging(conn, layer)
    await copy_rows(conn, staging, rows)
    cs = await open_changeset(conn, actor="bench", source="test")
    await insert_all(conn, staging, changeset_id=cs)


async def load(conn: asyncpg.Connection, n: int) -> dict[str, float]:
    """Write the grid, the components and ``n`` cases (with their events); seconds per part."""
    registry = await Registry.load(conn)
    took: dict[str, float] = {}
    t = time.perf_counter()
    await _stage(conn, registry, "grid_cells", grid_rows())
    await _stage(conn, registry, "city_components", component_rows())
    took["grid+components"] = time.perf_counter() - t
    t = time.perf_counter()
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute("CREATE TEMP TABLE bench_cells AS SELECT (row_number() OVER (ORDER BY grid_code) - 1)::int "
                       "AS i, grid_code, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0 FROM data.grid_cells "
                       "WHERE valid_to IS NULL")
    layer = registry.get("city_cases")
    staging = await create_staging(conn, layer)
    depts = ", ".join(f"'{d}'" for d in DEPARTMENTS)
    await conn.execute(CASES_SQL.format(stage=staging.name, n=n, n_cells=COLS * ROWS, dx=DX, dy=DY,
                                        departments=depts, n_departments=len(DEPARTMENTS)))
    took["generate cases (SQL)"] = time.perf_counter() - t
    t = time.perf_counter()
    async with conn.transaction():
        await allow_bulk_history(conn)
        cs = await open_changeset(conn, actor="bench", source="test")
        await insert_all(conn, staging, changeset_id=cs)
    took["write cases (bulk path)"] = time.perf_counter() - t
    t = time.perf_counter()
    await backfill_events(conn, actor="bench")
    took["case events"] = time.perf_counter() - t
    await conn.execute("ANALYZE")
    return took
