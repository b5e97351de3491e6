"""The statistics rollup's bulk add (``onemap.building_rollup_add_changeset``, which an initial load of
buildings calls once instead of firing the triggers per COPY batch) groups the changeset's rows to
level-0 cells in a parallel query and cascades from a small analysed temporary table.

Why: the first version ran one statement: a LATERAL "two ends" subquery per row, a serial hash
aggregate, then a sort of 1.2 million unnested rows the planner expected to be 20 (estimates from a
CTE). On 1,000,000 buildings that was 3.3-4.2 s of the import's one backend while the client's core
sat idle (benchmarks/README.md, "Batch import"). Now the current and the closed ends are two plain
scans, the grouping runs in parallel workers (they see the transaction's own uncommitted rows), and
the cascade reads an analysed temporary table, so it hashes instead of sorting. Same rows as before:
tests/analysis/test_building_rollup.py sums every changeset's add against a full rebuild.

Revision ID: 0016_rollup_bulk_add
Revises: 0015_overview_band
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016_rollup_bulk_add"
down_revision = "0015_overview_band"
branch_labels = None
depends_on = None

# Constant SQL (frozen with this revision). The classification rules stay in onemap.building_keys
# and onemap.building_floors (migration 0014); cells are 1/512 degree, levels 0-7, as there.
_MEASURES = ("floor(ST_X(n.surface_point) * 512)::int AS ix, floor(ST_Y(n.surface_point) * 512)::int AS iy, "
             "onemap.building_keys(n.use, n.height_m, n.floors, n.year_built) AS keys, "
             "round(n.footprint_m2 * 1e6)::bigint AS fp, "
             "round(n.footprint_m2 * 1e6)::bigint * onemap.building_floors(n.height_m, n.floors) AS fa")
_LEVELS = ",\n  ".join(
    f"g{lv} AS (SELECT {lv}::smallint AS level, ix >> 1 AS ix, iy >> 1 AS iy, class_key, at, "  # noqa: S608
    f"sum(n)::bigint AS n, sum(f)::bigint AS f, sum(a)::bigint AS a FROM g{lv - 1} "
    "GROUP BY ix >> 1, iy >> 1, class_key, at)"
    for lv in range(1, 8))
_ALL = " UNION ALL ".join(f"SELECT * FROM g{lv}" for lv in range(8))  # noqa: S608 (constant SQL)

FUNCTION = f"""
CREATE OR REPLACE FUNCTION onemap.building_rollup_add_changeset(p_changeset bigint) RETURNS void
LANGUAGE plpgsql
-- Scoped to this call: room to hash a million rows, and parallel workers worth their start-up.
SET work_mem = '256MB' SET parallel_setup_cost = 0 SET parallel_tuple_cost = 0.001 AS $$
DECLARE
  z_level smallint[]; z_ix int[]; z_iy int[]; z_key text[]; z_at timestamptz[];
BEGIN
  -- Dropped at the end (a failed call rolls back with its table), so a transaction may call this again.
  CREATE TEMP TABLE building_rollup_add AS
  SELECT ix, iy, at, keys, sum(sign)::bigint AS n, sum(sign * fp)::bigint AS f, sum(sign * fa)::bigint AS a
  FROM (
    SELECT 1 AS sign, n.valid_from AS at, {_MEASURES} FROM data.buildings n WHERE n.changeset_id = p_changeset
    UNION ALL
    SELECT -1, n.valid_to, {_MEASURES} FROM data.buildings n
    WHERE n.changeset_id = p_changeset AND n.valid_to IS NOT NULL
  ) p GROUP BY ix, iy, at, keys;
  ANALYZE pg_temp.building_rollup_add;
  WITH g0 AS (
    SELECT 0::smallint AS level, ix, iy, k.class_key, at, sum(n)::bigint AS n, sum(f)::bigint AS f,
           sum(a)::bigint AS a
    FROM pg_temp.building_rollup_add CROSS JOIN LATERAL unnest(keys) AS k(class_key)
    GROUP BY ix, iy, k.class_key, at
    HAVING sum(n) <> 0 OR sum(f) <> 0 OR sum(a) <> 0
  ),
  {_LEVELS},
  d AS ({_ALL}),
  up AS (
    INSERT INTO onemap.building_rollup AS r (level, ix, iy, class_key, at, buildings, footprint_mm2, floor_area_mm2)
    SELECT level, ix, iy, class_key, at, n, f, a FROM d WHERE n <> 0 OR f <> 0 OR a <> 0
    ORDER BY level, ix, iy, class_key, at
    ON CONFLICT (level, ix, iy, class_key, at) DO UPDATE SET
      buildings = r.buildings + EXCLUDED.buildings, footprint_mm2 = r.footprint_mm2 + EXCLUDED.footprint_mm2,
      floor_area_mm2 = r.floor_area_mm2 + EXCLUDED.floor_area_mm2
    RETURNING r.level, r.ix, r.iy, r.class_key, r.at, r.buildings, r.footprint_mm2, r.floor_area_mm2
  )
  SELECT array_agg(level), array_agg(ix), array_agg(iy), array_agg(class_key), array_agg(at)
  INTO z_level, z_ix, z_iy, z_key, z_at
  FROM up WHERE buildings = 0 AND footprint_mm2 = 0 AND floor_area_mm2 = 0;
  DROP TABLE pg_temp.building_rollup_add;
  -- Rows that now sum to nothing are dropped, as the triggers do.
  IF z_level IS NOT NULL THEN
    DELETE FROM onemap.building_rollup r
    USING unnest(z_level, z_ix, z_iy, z_key, z_at) AS z(level, ix, iy, class_key, at)
    WHERE r.level = z.level AND r.ix = z.ix AND r.iy = z.iy AND r.class_key = z.class_key AND r.at = z.at
      AND r.buildings = 0 AND r.footprint_mm2 = 0 AND r.floor_area_mm2 = 0;
  END IF;
END $$
"""  # noqa: S608 (constant SQL)


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    # The function computes exactly what 0014's did (same signature, same rows), so it stays; 0014's
    # own downgrade drops it by name.
    pass
