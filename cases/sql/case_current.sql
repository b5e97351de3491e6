-- The current version of one case, with its point as EPSG:4490 lon/lat and the layer's columns.
SELECT fid, version, valid_from, ST_X(geom) AS lon, ST_Y(geom) AS lat{columns}
FROM data.city_cases
WHERE fid = :fid AND valid_to IS NULL
