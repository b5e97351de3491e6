"""Building statistics rollup: partial sums per power-of-two degree cell, kept exact by a trigger.

``onemap.building_rollup`` (level, ix, iy, class_key, at) → buildings, footprint_m2, floor_area_m2
holds signed deltas: a building version valid on [valid_from, valid_to) adds its measures at
``valid_from`` and takes them away at ``valid_to``, so the sum of a cell's rows with ``at <= t`` is
exactly what the versions valid at ``t`` hold (``layers.temporal.AsOf``: valid_from <= t < valid_to),
and the sum of all its rows is the current state (``valid_to IS NULL``). A correction (a version
closed at its own start) adds and takes away at the same instant: nothing.

* Cells: level 0 is 1/1024° (about 100 m × 110 m in Changsha), level l is 2^l level-0 cells a side,
  up to level 7 (1/8°); a point's cell is floor(lon × 1024) >> l, floor(lat × 1024) >> l of its
  stored ``surface_point`` (exact: the scales are powers of two). analysis/building_stats.py sums
  the cells wholly inside an area and scans the buildings of the level-0 cells on its edge.
* ``class_key``: one row per breakdown class, not per combination: ``by_use:<use>``,
  ``by_age:<band>``, ``by_height:<class>``, ``by_floor_rule:<rule>`` (a cell has at most 21 rows per
  instant; the 630 combinations would make fine cells no smaller than their buildings). Every
  building has exactly one floor rule, so the totals are the sum of the ``by_floor_rule`` rows.
* Footprint and floor area are ``numeric``: a delta and its reversal cancel exactly.
* ``onemap.building_keys`` and ``onemap.building_floors`` state the classification rules
  (analysis/building_rules.py describes them) once, for the trigger and the edge scan.
* An AFTER … FOR EACH STATEMENT trigger with transition tables on ``data.buildings`` (INSERT,
  UPDATE, DELETE) folds every write path in — single edits, changesets and undo, bulk edits,
  bulk merges, retirement, back-dated edits: each statement's rows are grouped to level-0 cells,
  then to the coarser levels, and upserted in key order (two writers on one row wait for each
  other, never deadlock on order); rows that sum to zero are deleted. It is transactional: a
  rolled-back write leaves no trace. ``layers.building_rollup`` attaches it when the registry
  creates the table later (a fresh database).

Revision ID: 0013_building_rollup
Revises: 0012_feed
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013_building_rollup"
down_revision = "0012_feed"
branch_labels = None
depends_on = None

CLASS_FUNCTIONS = """
CREATE FUNCTION onemap.building_keys(use text, height_m double precision, floors bigint, year_built bigint)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[
    'by_use:' || coalesce(use, 'other'),
    'by_age:' || CASE WHEN year_built IS NULL THEN 'unknown'
                      WHEN year_built < 1980 THEN 'before_1980'
                      WHEN year_built < 2000 THEN '1980_1999'
                      WHEN year_built < 2010 THEN '2000_2009'
                      WHEN year_built < 2020 THEN '2010_2019'
                      ELSE 'since_2020' END,
    'by_height:' || CASE WHEN height_m IS NULL THEN 'unknown'
                         WHEN height_m <= CASE WHEN use = 'residential' THEN 27.0 ELSE 24.0 END
                              OR (floors = 1 AND use IS DISTINCT FROM 'residential') THEN 'low_multi'
                         WHEN height_m <= 50.0 THEN 'high_to_50'
                         WHEN height_m <= 100.0 THEN 'high_50_100'
                         ELSE 'super_high' END,
    'by_floor_rule:' || CASE WHEN floors >= 1 THEN 'floors' WHEN height_m > 0 THEN 'height' ELSE 'default' END]
$$
;;
CREATE FUNCTION onemap.building_floors(height_m double precision, floors bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN floors >= 1 THEN floors
              WHEN height_m > 0 THEN greatest(1, floor(height_m / 3.0 + 0.5))::bigint
              ELSE 1 END
$$
"""

# The signed deltas of a set of versions <SOURCE> (columns: sign and the layer's own), grouped to
# level-0 cells and then to levels 1-7, upserted in key order. Constant SQL: nothing from outside.
UPSERT = """
  WITH v AS MATERIALIZED (<SOURCE>),
  e AS (
    SELECT sign, surface_point, footprint_m2, use, height_m, floors, year_built, valid_from AS at FROM v
    UNION ALL
    SELECT -sign, surface_point, footprint_m2, use, height_m, floors, year_built, valid_to FROM v
    WHERE valid_to IS NOT NULL
  ), g AS (
    SELECT floor(ST_X(e.surface_point) * 1024)::int AS ix, floor(ST_Y(e.surface_point) * 1024)::int AS iy,
           k.class_key, e.at, sum(e.sign) AS n, sum(e.sign * e.footprint_m2::numeric) AS f,
           sum(e.sign * e.footprint_m2::numeric * onemap.building_floors(e.height_m, e.floors)) AS a
    FROM e CROSS JOIN LATERAL unnest(onemap.building_keys(e.use, e.height_m, e.floors, e.year_built)) AS k(class_key)
    GROUP BY 1, 2, 3, 4
    HAVING sum(e.sign) <> 0 OR sum(e.sign * e.footprint_m2::numeric) <> 0
        OR sum(e.sign * e.footprint_m2::numeric * onemap.building_floors(e.height_m, e.floors)) <> 0
  ), d AS (
    SELECT 0::smallint AS level, ix, iy, class_key, at, n, f, a FROM g
    UNION ALL
    SELECT l::smallint, ix >> l, iy >> l, class_key, at, sum(n), sum(f), sum(a)
    FROM g CROSS JOIN generate_series(1, 7) AS l GROUP BY l, ix >> l, iy >> l, class_key, at
  ), up AS (
    INSERT INTO onemap.building_rollup AS r (level, ix, iy, class_key, at, buildings, footprint_m2, floor_area_m2)
    SELECT level, ix, iy, class_key, at, n, f, a FROM d WHERE n <> 0 OR f <> 0 OR a <> 0
    ORDER BY level, ix, iy, class_key, at
    ON CONFLICT (level, ix, iy, class_key, at) DO UPDATE SET
      buildings = r.buildings + EXCLUDED.buildings, footprint_m2 = r.footprint_m2 + EXCLUDED.footprint_m2,
      floor_area_m2 = r.floor_area_m2 + EXCLUDED.floor_area_m2
    RETURNING r.level, r.ix, r.iy, r.class_key, r.at, r.buildings, r.footprint_m2, r.floor_area_m2
  )
  SELECT array_agg(level), array_agg(ix), array_agg(iy), array_agg(class_key), array_agg(at)
  INTO z_level, z_ix, z_iy, z_key, z_at
  FROM up WHERE buildings = 0 AND footprint_m2 = 0 AND floor_area_m2 = 0
"""
COLUMNS = "surface_point, footprint_m2, use, height_m, floors, year_built, valid_from, valid_to"
SOURCES = {  # constant SQL
    "INSERT": f"SELECT 1 AS sign, {COLUMNS} FROM new_rows",  # noqa: S608
    "UPDATE": f"SELECT 1 AS sign, {COLUMNS} FROM new_rows UNION ALL SELECT -1, {COLUMNS} FROM old_rows",  # noqa: S608
    "DELETE": f"SELECT -1 AS sign, {COLUMNS} FROM old_rows",  # noqa: S608
}
TRIGGER_FUNCTION = """
CREATE FUNCTION onemap.building_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  z_level smallint[]; z_ix int[]; z_iy int[]; z_key text[]; z_at timestamptz[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    <INSERT>;
  ELSIF TG_OP = 'UPDATE' THEN
    <UPDATE>;
  ELSE
    <DELETE>;
  END IF;
  -- Rows that now sum to nothing (an edit that changed no class, at the instant it closed the old
  -- version and opened the new one) are dropped, so the rollup grows only with real changes.
  IF z_level IS NOT NULL THEN
    DELETE FROM onemap.building_rollup r
    USING unnest(z_level, z_ix, z_iy, z_key, z_at) AS z(level, ix, iy, class_key, at)
    WHERE r.level = z.level AND r.ix = z.ix AND r.iy = z.iy AND r.class_key = z.class_key AND r.at = z.at
      AND r.buildings = 0 AND r.footprint_m2 = 0 AND r.floor_area_m2 = 0;
  END IF;
  RETURN NULL;
END $$
"""
FILL_FUNCTION = """
CREATE FUNCTION onemap.building_rollup_fill() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  z_level smallint[]; z_ix int[]; z_iy int[]; z_key text[]; z_at timestamptz[];
BEGIN
  <FILL>;
END $$
"""


def trigger_function() -> str:
    """The trigger function's DDL, one upsert per operation."""
    out = TRIGGER_FUNCTION
    for op_name, source in SOURCES.items():
        out = out.replace(f"<{op_name}>", UPSERT.replace("<SOURCE>", source).strip())
    return out


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onemap.building_rollup (
          level smallint NOT NULL, ix integer NOT NULL, iy integer NOT NULL, class_key text NOT NULL,
          at timestamptz NOT NULL,
          buildings bigint NOT NULL, footprint_m2 numeric NOT NULL, floor_area_m2 numeric NOT NULL,
          PRIMARY KEY (level, ix, iy, class_key, at)
        )
        """
    )
    for function in CLASS_FUNCTIONS.split(";;"):
        op.execute(function)
    op.execute(trigger_function())
    # Rebuilds the rollup from every stored version (this revision, and after a rules change).
    every_version = f"SELECT 1 AS sign, {COLUMNS} FROM data.buildings"  # noqa: S608 (constant SQL)
    fill = "TRUNCATE onemap.building_rollup;\n  " + UPSERT.replace("<SOURCE>", every_version).strip()
    op.execute(FILL_FUNCTION.replace("<FILL>", fill))
    if op.get_bind().exec_driver_sql("SELECT to_regclass('data.buildings') IS NOT NULL").scalar():
        from layers.building_rollup import trigger_statements

        for statement in trigger_statements():
            op.execute(statement)
        op.execute("SELECT onemap.building_rollup_fill()")
        op.execute("ANALYZE onemap.building_rollup")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS building_rollup_insert ON data.buildings")
    op.execute("DROP TRIGGER IF EXISTS building_rollup_update ON data.buildings")
    op.execute("DROP TRIGGER IF EXISTS building_rollup_delete ON data.buildings")
    op.execute("DROP FUNCTION onemap.building_rollup_fill()")
    op.execute("DROP FUNCTION onemap.building_rollup_apply()")
    op.execute("DROP FUNCTION onemap.building_floors(double precision, bigint)")
    op.execute("DROP FUNCTION onemap.building_keys(text, double precision, bigint, bigint)")
    op.execute("DROP TABLE onemap.building_rollup")
