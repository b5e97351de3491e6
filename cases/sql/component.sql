-- A current component by its 16-digit code: where it stands (EPSG:4490 lon/lat), its 小类 and owner.
SELECT obj_code, minor_code, dept_owner, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM data.city_components WHERE valid_to IS NULL AND obj_code = :code
LIMIT 1
