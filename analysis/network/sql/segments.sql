-- One category's segments as the graph needs them, in one pass and one row of arrays (no record
-- per segment: decoding 100,000 records costs more than the graph). Ends are in CGCS2000 GK zone
-- 38 (EPSG:4547, metres) so lengths and snapping are metric; unknown depths are NaN.
-- {table} is registry-vouched, {flow} is the flow_direction column or NULL, {selection} a
-- layers.temporal predicate.
SELECT coalesce(array_agg(fid), '{{}}') AS fid, coalesce(array_agg(segment_no), '{{}}') AS segment_no,
       coalesce(array_agg(start_point), '{{}}') AS start_point, coalesce(array_agg(end_point), '{{}}') AS end_point,
       coalesce(array_agg(coalesce(start_depth_m, 'NaN')), '{{}}') AS start_depth_m,
       coalesce(array_agg(coalesce(end_depth_m, 'NaN')), '{{}}') AS end_depth_m,
       coalesce(array_agg(diameter_mm), '{{}}') AS diameter_mm, coalesce(array_agg(section), '{{}}') AS section,
       coalesce(array_agg({flow}), '{{}}') AS flow,
       coalesce(array_agg(ST_X(ST_StartPoint(g))), '{{}}') AS x0, coalesce(array_agg(ST_Y(ST_StartPoint(g))), '{{}}') AS y0,
       coalesce(array_agg(ST_X(ST_EndPoint(g))), '{{}}') AS x1, coalesce(array_agg(ST_Y(ST_EndPoint(g))), '{{}}') AS y1,
       coalesce(array_agg(ST_Length(g)), '{{}}') AS length_m
FROM (SELECT *, ST_Transform(geom, 4547) AS g FROM {table} WHERE {selection}) s
