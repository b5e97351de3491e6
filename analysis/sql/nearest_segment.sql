-- The segments nearest a point (EPSG:4490 lon/lat), nearest first by the index's degree distance;
-- the caller keeps the one nearest in metres (EPSG:4547).
SELECT fid, ST_Distance(ST_Transform(geom, 4547), ST_Transform(ST_SetSRID(ST_MakePoint({lon}, {lat}), 4490), 4547)) AS metres
FROM {table} WHERE {selection}
ORDER BY geom <-> ST_SetSRID(ST_MakePoint({lon}, {lat}), 4490) LIMIT 8
