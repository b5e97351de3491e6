-- Building statistics of one area at one instant: one row per (use, age band, height class, floor
-- rule) with count, footprint and floor area; analysis/building_stats.py rolls them up into the
-- totals and the four breakdowns (one hash lookup per building instead of one per breakdown).
-- A building counts when its point on surface (the stored `surface_point`, ST_PointOnSurface:
-- always inside its footprint) lies in the area; the footprint is the stored `footprint_m2`,
-- measured in EPSG:4547 (GK zone 38, metres) when the version was written (layers/derived.py).
-- `surface_point && area` is served by the GiST index over current rows; `geom && area` (implied
-- by it) lets as-of reads use the closed-version index. The statement is planned for its own
-- area (plan_cache_mode = force_custom_plan), so the WKB is parsed once, the area is a constant
-- PostGIS prepares for the point-in-polygon tests, and the scan may run in parallel.
-- The rules (floors when missing, bands, classes) are stated in analysis/building_rules.py.
WITH b AS (
  SELECT t.use, t.height_m, t.floors, t.year_built, t.footprint_m2 AS footprint
  FROM {table} t
  WHERE {selection} AND t.surface_point && ST_GeomFromWKB({area}, 4490) AND t.geom && ST_GeomFromWKB({area}, 4490)
    AND ST_Intersects(ST_GeomFromWKB({area}, 4490), t.surface_point)
), c AS (
  SELECT coalesce(use, 'other') AS use, footprint,
         CASE WHEN floors >= 1 THEN 'floors' WHEN height_m > 0 THEN 'height' ELSE 'default' END AS floor_rule,
         CASE WHEN floors >= 1 THEN floors
              WHEN height_m > 0 THEN greatest(1, floor(height_m / {storey_m} + 0.5))
              ELSE 1 END AS floors_used,
         CASE WHEN year_built IS NULL THEN 'unknown'
              WHEN year_built < 1980 THEN 'before_1980'
              WHEN year_built < 2000 THEN '1980_1999'
              WHEN year_built < 2010 THEN '2000_2009'
              WHEN year_built < 2020 THEN '2010_2019'
              ELSE 'since_2020' END AS age_band,
         CASE WHEN height_m IS NULL THEN 'unknown'
              WHEN height_m <= CASE WHEN use = 'residential' THEN 27.0 ELSE 24.0 END
                   OR (floors = 1 AND use IS DISTINCT FROM 'residential') THEN 'low_multi'
              WHEN height_m <= 50.0 THEN 'high_to_50'
              WHEN height_m <= 100.0 THEN 'high_50_100'
              ELSE 'super_high' END AS height_class
  FROM b
)
SELECT use, age_band, height_class, floor_rule,
       count(*) AS buildings, sum(footprint) AS footprint_m2, sum(footprint * floors_used) AS floor_area_m2
FROM c
GROUP BY use, age_band, height_class, floor_rule
