-- One category's points as the graph needs them: number, kind, elevation, source flag, and the
-- position in EPSG:4547 metres. {table} is registry-vouched, {selection} a layers.temporal predicate.
SELECT fid, point_no, appurtenance, ground_elev_m, coalesce(is_source, false) AS is_source,
       ST_X(g) AS x, ST_Y(g) AS y
FROM (SELECT *, ST_Transform(geom, 4547) AS g FROM {table} WHERE {selection}) s
