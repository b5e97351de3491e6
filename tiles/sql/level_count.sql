-- One step of tiles.mvt.density_sql: how many features of one layer survive generalisation level
-- {name} in one tile, stopping at {cap} rows. The steps run from the most generalised level down,
-- each reading the count of the level {above} it: once that reached the cap this level is too full
-- as well, so it is not counted (the CASE never runs its subquery) and reports the cap.
--
-- {where} holds the temporal predicate, any CQL2 filter and the level's overview-zoom test on
-- t.tile_zoom, which the (tile_zoom, geom) index serves; {table} is the registry-vouched layer
-- table; every value is a bound $n parameter.
{name} AS (
  SELECT CASE WHEN above.n >= {cap} THEN {cap}::bigint ELSE (
    SELECT count(*) FROM (
      SELECT 1 FROM {table} t
      WHERE t.geom && ST_MakeEnvelope({bbox_4490}, 4490) AND {where}
      LIMIT {cap}
    ) s) END AS n
  FROM {above} above
)
