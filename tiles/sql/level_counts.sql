-- How many features of one layer survive each generalisation level in one tile, for picking the
-- first level that fits the tile's byte budget (tiles.mvt.density_sql).
--
-- Counts run from level {top} (the most generalised) down, each capped at {cap} rows, and stop at
-- the first level that reaches the cap: that level and every lower one are too full, and the rows
-- under the tile beyond it are never read. {where_top} and {where_next} hold the temporal
-- predicate, any CQL2 filter and the overview-zoom test on t.tile_zoom for the level being
-- counted (so the (tile_zoom, geom) index serves each count); {table} is the registry-vouched
-- layer table; every value is a bound $n parameter.
WITH RECURSIVE counts(level, n) AS (
  SELECT {top}::int, (
    SELECT count(*) FROM (
      SELECT 1 FROM {table} t
      WHERE t.geom && ST_MakeEnvelope({bbox_4490}, 4490) AND {where_top}
      LIMIT {cap}
    ) s)
  UNION ALL
  SELECT c.level - 1, (
    SELECT count(*) FROM (
      SELECT 1 FROM {table} t
      WHERE t.geom && ST_MakeEnvelope({bbox_4490}, 4490) AND {where_next}
      LIMIT {cap}
    ) s)
  FROM counts c
  WHERE c.n < {cap} AND c.level > 0
)
SELECT level, n FROM counts
