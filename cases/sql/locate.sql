-- Locate a report: the unit grid cell under the point and, for a 部件 problem, the nearest current
-- component of its 小类 within :radius_m metres (geodesic). A point on a boundary between cells
-- lies in both; the smallest grid code wins, so the answer never depends on the plan.
-- The component search is cut first by a degree box around the point (the index), then exactly.
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) AS g)
SELECT
  (SELECT c.grid_code FROM data.grid_cells c, pt
   WHERE c.valid_to IS NULL AND ST_Intersects(c.geom, pt.g)
   ORDER BY c.grid_code LIMIT 1) AS grid_code,
  comp.obj_code AS component_code, comp.dept_owner AS component_owner, comp.distance_m
FROM pt
LEFT JOIN LATERAL (
  SELECT k.obj_code, k.dept_owner, ST_Distance(k.geom::geography, pt.g::geography) AS distance_m
  FROM data.city_components k
  WHERE :kind = 'component' AND k.valid_to IS NULL AND k.minor_code = :small_class
    AND k.geom && ST_Expand(pt.g, :box_deg)
    AND ST_DWithin(k.geom::geography, pt.g::geography, :radius_m)
  ORDER BY ST_Distance(k.geom::geography, pt.g::geography), k.obj_code
  LIMIT 1
) comp ON true
