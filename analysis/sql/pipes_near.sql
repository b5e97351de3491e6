-- Segments of one category within {distance} metres of a geometry (EPSG:4490 WKB; 0 = touching),
-- as of the request, with what sections, clearances and excavation need: sizes, depths, owner,
-- the line in GK zone 38 metres (EPSG:4547), and the ground elevation at each end from the
-- category's points (by number, as of the same instant). {pressure} is pressure_class or NULL.
SELECT s.fid, s.segment_no, s.start_point, s.end_point, s.start_depth_m, s.end_depth_m, s.material,
       s.diameter_mm, s.section, s.burial, s.owner, {pressure} AS pressure_class,
       ST_AsBinary(ST_Transform(s.geom, 4547)) AS wkb_4547,
       (SELECT p.ground_elev_m FROM {points} p WHERE p.point_no = s.start_point AND {start_selection} LIMIT 1) AS start_ground,
       (SELECT p.ground_elev_m FROM {points} p WHERE p.point_no = s.end_point AND {end_selection} LIMIT 1) AS end_ground
FROM {segments} s
WHERE {selection} AND s.geom && ST_Expand(ST_GeomFromWKB({area}, 4490), {degrees})
  AND ST_DWithin(ST_Transform(s.geom, 4547), ST_Transform(ST_GeomFromWKB({area}, 4490), 4547), {distance})
ORDER BY s.fid
