-- One category's segments as the graph needs them, in one pass: ends in CGCS2000 GK zone 38
-- (EPSG:4547, metres) so lengths and snapping are metric. {table} is registry-vouched,
-- {flow} is the flow_direction column or NULL, {selection} a layers.temporal predicate.
SELECT fid, segment_no, start_point, end_point, start_depth_m, end_depth_m, diameter_mm, section, {flow} AS flow,
       ST_X(ST_StartPoint(g)) AS x0, ST_Y(ST_StartPoint(g)) AS y0,
       ST_X(ST_EndPoint(g)) AS x1, ST_Y(ST_EndPoint(g)) AS y1, ST_Length(g) AS length_m
FROM (SELECT *, ST_Transform(geom, 4547) AS g FROM {table} WHERE {selection}) s
