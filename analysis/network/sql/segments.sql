-- One category's segments as the graph needs them, in one pass and one row of arrays (no record
-- per segment: decoding 100,000 records costs more than the graph). Geometry goes out as
-- EPSG:4490 WKB and is projected and measured in the process (analysis/network/rows.py), with
-- vectorised pyproj/shapely: a shared database server is the scarcer CPU. Unknown depths are NaN.
-- {table} is registry-vouched, {flow} is the flow_direction column or NULL, {selection} a
-- layers.temporal predicate.
SELECT coalesce(array_agg(fid), '{{}}') AS fid, coalesce(array_agg(segment_no), '{{}}') AS segment_no,
       coalesce(array_agg(start_point), '{{}}') AS start_point, coalesce(array_agg(end_point), '{{}}') AS end_point,
       coalesce(array_agg(coalesce(start_depth_m, 'NaN')), '{{}}') AS start_depth_m,
       coalesce(array_agg(coalesce(end_depth_m, 'NaN')), '{{}}') AS end_depth_m,
       coalesce(array_agg(diameter_mm), '{{}}') AS diameter_mm, coalesce(array_agg(section), '{{}}') AS section,
       coalesce(array_agg({flow}), '{{}}') AS flow, coalesce(array_agg(ST_AsBinary(geom)), '{{}}') AS wkb_4490
FROM {table} WHERE {selection}
