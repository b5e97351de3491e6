-- Building statistics of one area at one instant, from the rollup and an exact scan of its edge:
-- one row per breakdown class (`by_use:residential`, `by_age:…`, `by_height:…`, `by_floor_rule:…`)
-- with count, footprint and floor area (summed as integer mm², as the rollup keeps them); analysis/building_stats.py builds the totals (the sum of
-- the floor-rule rows: every building has exactly one) and the four breakdowns.
-- A building counts when its point on surface (the stored `surface_point`, ST_PointOnSurface:
-- always inside its footprint) lies in the area (boundary included); the footprint is the stored
-- `footprint_m2` (EPSG:4547, layers/derived.py); the classes and floors are
-- onemap.building_keys / onemap.building_floors (migration 0014), as the rollup's trigger uses them.
-- * `rolled`: the rollup rows (onemap.building_rollup, signed deltas) of the cells wholly inside
--   the area (analysis/cells.py), up to the instant ({until}: true for the current state, else
--   at <= the instant: a version valid on [from, to) adds at from and takes away at to).
-- * `scanned`: the buildings whose point lies in a level-0 cell on the area's edge (each point in
--   one cell: the one its floor()ed coordinates name), tested against the area cut into pieces of
--   at most 128 vertices (ST_Subdivide); a point is in when it touches any piece near its cell,
--   so a point on a cut between pieces counts once, as before.
-- One statement, one snapshot: the rollup and the rows agree.
WITH cover AS (
  SELECT * FROM unnest({levels}, {xs}, {ys}) AS c(level, ix, iy)
), rolled AS (
  SELECT r.class_key, sum(r.buildings) AS buildings, sum(r.footprint_mm2) AS footprint_mm2,
         sum(r.floor_area_mm2) AS floor_area_mm2
  FROM cover c JOIN onemap.building_rollup r ON r.level = c.level AND r.ix = c.ix AND r.iy = c.iy
  WHERE {until}
  GROUP BY r.class_key
), pieces AS MATERIALIZED (
  SELECT g FROM ST_Subdivide(ST_GeomFromWKB({area}, 4490), 128) AS g
), edge AS MATERIALIZED (
  SELECT e.ix, e.iy, e.box, ARRAY(SELECT p.g FROM pieces p WHERE p.g && e.box) AS near
  FROM (SELECT ix, iy, ST_MakeEnvelope(ix * {size}, iy * {size}, (ix + 1) * {size}, (iy + 1) * {size}, 4490) AS box
        FROM unnest({edge_xs}, {edge_ys}) AS u(ix, iy)
        -- A cell without rollup rows never held a building (at any instant): no need to look.
        WHERE EXISTS (SELECT 1 FROM onemap.building_rollup r WHERE r.level = 0 AND r.ix = u.ix AND r.iy = u.iy)) e
), scanned AS (
  SELECT onemap.building_keys(t.use, t.height_m, t.floors, t.year_built) AS keys, count(*) AS buildings,
         sum(round(t.footprint_m2 * 1e6)::bigint) AS footprint_mm2,
         sum(round(t.footprint_m2 * 1e6)::bigint * onemap.building_floors(t.height_m, t.floors)) AS floor_area_mm2
  -- LATERAL: one index probe per edge cell (a hash join on the cell numbers read every building).
  FROM edge e CROSS JOIN LATERAL (
    SELECT t.use, t.height_m, t.floors, t.year_built, t.footprint_m2 FROM {table} t
    WHERE t.surface_point && e.box AND t.geom && e.box AND {selection}
      AND floor(ST_X(t.surface_point) * {per_degree}) = e.ix AND floor(ST_Y(t.surface_point) * {per_degree}) = e.iy
      AND EXISTS (SELECT 1 FROM unnest(e.near) AS n(g) WHERE ST_Intersects(n.g, t.surface_point))
  ) t
  GROUP BY 1
)
SELECT class_key, sum(buildings)::bigint AS buildings, (sum(footprint_mm2) / 1e6)::float8 AS footprint_m2,
       (sum(floor_area_mm2) / 1e6)::float8 AS floor_area_m2
FROM (SELECT class_key, buildings, footprint_mm2, floor_area_mm2 FROM rolled
      UNION ALL
      SELECT k, s.buildings, s.footprint_mm2, s.floor_area_mm2 FROM scanned s, unnest(s.keys) AS k) x
GROUP BY class_key
