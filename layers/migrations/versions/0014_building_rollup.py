"""Building statistics rollup: partial sums per power-of-two degree cell, kept exact by a trigger.

``onemap.building_rollup`` (level, ix, iy, class_key, at) → buildings, footprint_mm2, floor_area_mm2
holds signed deltas: a building version valid on [valid_from, valid_to) adds its measures at
``valid_from`` and takes them away at ``valid_to``, so the sum of a cell's rows with ``at <= t`` is
exactly what the versions valid at ``t`` hold (``layers.temporal.AsOf``: valid_from <= t < valid_to),
and the sum of all its rows is the current state (``valid_to IS NULL``). A correction (a version
closed at its own start) adds and takes away at the same instant: nothing.

* Cells: level 0 is 1/512° (about 190 m × 220 m in Changsha), level l is 2^l level-0 cells a side,
  up to level 7 (1/4°); a point's cell is floor(lon × 512) >> l, floor(lat × 512) >> l of its
  stored ``surface_point`` (exact: the scales are powers of two). 1/1024° cells made 71 % of the
  rows (≈ 0.7 per building at 1,000,000) and most of a bulk write's upserts; 1/512° halves that
  for twice the buildings scanned along an area's edge. analysis/building_stats.py sums
  the cells wholly inside an area and scans the buildings of the level-0 cells on its edge.
* ``class_key``: one row per breakdown class, not per combination: ``by_use:<use>``,
  ``by_age:<band>``, ``by_height:<class>``, ``by_floor_rule:<rule>`` (a cell has at most 21 rows per
  instant; the 630 combinations would make fine cells no smaller than their buildings). Every
  building has exactly one floor rule, so the totals are the sum of the ``by_floor_rule`` rows.
* Footprint and floor area are integer mm² (each version's ``footprint_m2`` × 10⁶, rounded; at
  most 0.5 mm² off per building): a delta and its reversal cancel exactly, and bigint sums are
  cheap (numeric ones made a 100,000-row bulk merge's trigger several times slower).
* ``onemap.building_keys`` and ``onemap.building_floors`` state the classification rules
  (analysis/building_rules.py describes them) once, for the trigger and the edge scan.
* An AFTER … FOR EACH STATEMENT trigger with transition tables on ``data.buildings`` (INSERT,
  UPDATE, DELETE) folds every write path in — single edits, changesets and undo, bulk edits,
  bulk merges, retirement, back-dated edits: each statement's rows are grouped to level-0 cells,
  then to the coarser levels, and upserted in key order (two writers on one row wait for each
  other, never deadlock on order); rows that sum to zero are deleted. It is transactional: a
  rolled-back write leaves no trace. ``layers.building_rollup`` attaches it when the registry
  creates the table later (a fresh database).

Revision ID: 0014_building_rollup
Revises: 0013_tile_keys
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014_building_rollup"
down_revision = "0013_tile_keys"
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

# The signed deltas of <SOURCE> (rows: sign, the measured columns, at), grouped to level-0 cells,
# then each level from the one below (a cascade: each step reads fewer rows), upserted in key
# order. Areas are integer mm² (footprint_m2 × 10⁶ rounded, per version): sums and their
# reversals are exact, and bigint sums are far cheaper than numeric. Constant SQL: nothing from outside.
UPSERT = """
  WITH p AS (
    SELECT s.sign, floor(ST_X(s.surface_point) * 512)::int AS ix, floor(ST_Y(s.surface_point) * 512)::int AS iy,
           s.at, onemap.building_keys(s.use, s.height_m, s.floors, s.year_built) AS keys,
           round(s.footprint_m2 * 1e6)::bigint AS fp,
           round(s.footprint_m2 * 1e6)::bigint * onemap.building_floors(s.height_m, s.floors) AS fa
    FROM (<SOURCE>) s
  ), q AS (
    -- Grouped by cell, instant and classes before the four breakdowns are unnested: 1,000,000
    -- rows are grouped once instead of 4,000,000 (5.3 s -> 3.1 s of one core per million rows).
    SELECT ix, iy, at, keys, sum(sign)::bigint AS n, sum(sign * fp)::bigint AS f, sum(sign * fa)::bigint AS a
    FROM p GROUP BY ix, iy, at, keys
  ), g0 AS (
    SELECT 0::smallint AS level, ix, iy, k.class_key, at, sum(n)::bigint AS n, sum(f)::bigint AS f,
           sum(a)::bigint AS a
    FROM q CROSS JOIN LATERAL unnest(keys) AS k(class_key)
    GROUP BY ix, iy, k.class_key, at
    HAVING sum(n) <> 0 OR sum(f) <> 0 OR sum(a) <> 0
  ),
  <LEVELS>,
  d AS (<ALL_LEVELS>),
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
  FROM up WHERE buildings = 0 AND footprint_mm2 = 0 AND floor_area_mm2 = 0
"""
LEVEL = ("g{l} AS (SELECT {l}::smallint AS level, ix >> 1 AS ix, iy >> 1 AS iy, class_key, at, sum(n)::bigint AS n, "
         "sum(f)::bigint AS f, sum(a)::bigint AS a FROM g{below} GROUP BY ix >> 1, iy >> 1, class_key, at)")
UPSERT = UPSERT.replace("<LEVELS>", ",\n  ".join(LEVEL.format(l=lv, below=lv - 1) for lv in range(1, 8))).replace(
    "<ALL_LEVELS>", " UNION ALL ".join(f"SELECT * FROM g{lv}" for lv in range(8)))  # noqa: S608 (constant SQL)

MEASURED = ("surface_point", "footprint_m2", "use", "height_m", "floors", "year_built")


def _ends(alias: str, sign: int, when: str = "true") -> str:
    """A version's two ends: +sign at valid_from, -sign at valid_to (when closed)."""
    cols = ", ".join(f"{alias}.{c}" for c in MEASURED)
    return (f"SELECT {sign} AS sign, {cols}, {alias}.valid_from AS at WHERE {when} "
            f"UNION ALL SELECT {-sign}, {cols}, {alias}.valid_to WHERE {when} AND {alias}.valid_to IS NOT NULL")


# An UPDATE that only moved valid_to (closing a version: every edit, retirement and re-import
# does it) contributes just the moved end, not four ends that mostly cancel.
_SAME = ("coalesce(n.valid_from = o.valid_from AND n.surface_point ~= o.surface_point "
         "AND n.footprint_m2 = o.footprint_m2 AND (n.use, n.height_m, n.floors, n.year_built) "
         "IS NOT DISTINCT FROM (o.use, o.height_m, o.floors, o.year_built), false)")
_MOVED_END = (f"SELECT -1 AS sign, {', '.join('n.' + c for c in MEASURED)}, n.valid_to WHERE {_SAME} "  # noqa: S608
              "AND n.valid_to IS DISTINCT FROM o.valid_to AND n.valid_to IS NOT NULL "
              f"UNION ALL SELECT 1, {', '.join('o.' + c for c in MEASURED)}, o.valid_to WHERE {_SAME} "
              "AND n.valid_to IS DISTINCT FROM o.valid_to AND o.valid_to IS NOT NULL")
SOURCES = {  # constant SQL
    "INSERT": f"SELECT e.* FROM new_rows n CROSS JOIN LATERAL ({_ends('n', 1)}) e",  # noqa: S608
    "UPDATE": ("SELECT e.* FROM new_rows n FULL JOIN old_rows o ON o.fid = n.fid AND o.version = n.version "  # noqa: S608
               f"CROSS JOIN LATERAL ({_ends('n', 1, f'n.fid IS NOT NULL AND NOT {_SAME}')} "
               f"UNION ALL {_ends('o', -1, f'o.fid IS NOT NULL AND NOT {_SAME}')} UNION ALL {_MOVED_END}) e"),
    "DELETE": f"SELECT e.* FROM old_rows o CROSS JOIN LATERAL ({_ends('o', -1)}) e",  # noqa: S608
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
      AND r.buildings = 0 AND r.footprint_mm2 = 0 AND r.floor_area_mm2 = 0;
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

ADD_CHANGESET_FUNCTION = """
CREATE FUNCTION onemap.building_rollup_add_changeset(p_changeset bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  z_level smallint[]; z_ix int[]; z_iy int[]; z_key text[]; z_at timestamptz[];
BEGIN
  <ADD>;
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
          buildings bigint NOT NULL, footprint_mm2 bigint NOT NULL, floor_area_mm2 bigint NOT NULL,
          PRIMARY KEY (level, ix, iy, class_key, at)
        )
        """
    )
    for function in CLASS_FUNCTIONS.split(";;"):
        op.execute(function)
    op.execute(trigger_function())
    # Rebuilds the rollup from every stored version (this revision, and after a rules change).
    every_version = f"SELECT e.* FROM data.buildings n CROSS JOIN LATERAL ({_ends('n', 1)}) e"  # noqa: S608
    fill = "TRUNCATE onemap.building_rollup;\n  " + UPSERT.replace("<SOURCE>", every_version).strip()
    op.execute(FILL_FUNCTION.replace("<FILL>", fill))
    # The versions one changeset wrote while the triggers were off (an initial load's: layers.building_rollup).
    written = (f"SELECT e.* FROM data.buildings n CROSS JOIN LATERAL ({_ends('n', 1)}) e "  # noqa: S608
               "WHERE n.changeset_id = p_changeset")
    op.execute(ADD_CHANGESET_FUNCTION.replace("<ADD>", UPSERT.replace("<SOURCE>", written).strip()))
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
    op.execute("DROP FUNCTION onemap.building_rollup_add_changeset(bigint)")
    op.execute("DROP FUNCTION onemap.building_rollup_fill()")
    op.execute("DROP FUNCTION onemap.building_rollup_apply()")
    op.execute("DROP FUNCTION onemap.building_floors(double precision, bigint)")
    op.execute("DROP FUNCTION onemap.building_keys(text, double precision, bigint, bigint)")
    op.execute("DROP TABLE onemap.building_rollup")
