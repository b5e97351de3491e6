-- Features of {table} within a distance in metres of a geometry (EPSG:4490 WKB), as of the
-- request, with their geometry in GK zone 38 metres (EPSG:4547) for exact measurement.
SELECT {columns}, ST_AsBinary(ST_Transform(t.geom, 4547)) AS wkb_4547 FROM {table} t
WHERE {selection} AND t.geom && ST_Expand(ST_GeomFromWKB({area}, 4490), {degrees})
  AND ST_DWithin(ST_Transform(t.geom, 4547), ST_Transform(ST_GeomFromWKB({area}, 4490), 4547), {distance})
ORDER BY t.fid
