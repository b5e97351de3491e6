-- Features of {table} that intersect an area (EPSG:4490 WKB), as of the request.
SELECT {columns} FROM {table} t
WHERE {selection} AND t.geom && ST_GeomFromWKB({area}, 4490) AND ST_Intersects(t.geom, ST_GeomFromWKB({area}, 4490))
ORDER BY t.fid
