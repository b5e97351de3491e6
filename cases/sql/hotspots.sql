-- Cases per unit grid cell reported in [:t0, :t1), with each cell's outline as GeoJSON (EPSG:4490
-- lon/lat, which is CRS84's axis order).
SELECT c.grid_code, c.n, ST_AsGeoJSON(g.geom, 7) AS geometry
FROM (SELECT grid_code, count(*) AS n FROM data.city_cases
      WHERE valid_to IS NULL AND reported_at >= :t0 AND reported_at < :t1
        AND (:see_all OR department = :scope_department)
      GROUP BY grid_code) c
JOIN data.grid_cells g ON g.grid_code = c.grid_code AND g.valid_to IS NULL
ORDER BY c.n DESC, c.grid_code
