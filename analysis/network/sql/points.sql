-- One category's points as the graph needs them, as one row of arrays: number, kind, elevation
-- (NaN when unknown), source flag, and the position in EPSG:4547 metres. {table} is
-- registry-vouched, {selection} a layers.temporal predicate.
SELECT coalesce(array_agg(fid), '{{}}') AS fid, coalesce(array_agg(point_no), '{{}}') AS point_no,
       coalesce(array_agg(appurtenance), '{{}}') AS appurtenance,
       coalesce(array_agg(coalesce(ground_elev_m, 'NaN')), '{{}}') AS ground_elev_m,
       coalesce(array_agg(coalesce(is_source, false)), '{{}}') AS is_source,
       coalesce(array_agg(ST_X(g)), '{{}}') AS x, coalesce(array_agg(ST_Y(g)), '{{}}') AS y
FROM (SELECT *, ST_Transform(geom, 4547) AS g FROM {table} WHERE {selection}) s
