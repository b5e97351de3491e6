-- One category's points as the graph needs them, as one row of arrays: number, kind, elevation
-- (NaN when unknown), source flag, and the position in EPSG:4490 lon/lat (projected in the
-- process). {table} is registry-vouched, {selection} a layers.temporal predicate.
SELECT coalesce(array_agg(fid), '{{}}') AS fid, coalesce(array_agg(point_no), '{{}}') AS point_no,
       coalesce(array_agg(appurtenance), '{{}}') AS appurtenance,
       coalesce(array_agg(coalesce(ground_elev_m, 'NaN')), '{{}}') AS ground_elev_m,
       coalesce(array_agg(coalesce(is_source, false)), '{{}}') AS is_source,
       coalesce(array_agg(ST_X(geom)), '{{}}') AS lon, coalesce(array_agg(ST_Y(geom)), '{{}}') AS lat
FROM {table} WHERE {selection}
