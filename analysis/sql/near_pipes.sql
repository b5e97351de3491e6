-- Features of {table} within a distance in metres of the given pipes ({pipes}), both as of the
-- request. The && test on EPSG:4490 boxes grown by a margin in degrees (at least the distance at Changsha's latitude)
-- uses the layer's GiST index; the exact test is in GK zone 38 metres (EPSG:4547).
WITH p AS (SELECT geom, ST_Transform(geom, 4547) AS g FROM {pipes} WHERE fid = ANY({fids}) AND {pipe_selection})
SELECT {columns} FROM {table} t
WHERE {selection} AND EXISTS (
  SELECT 1 FROM p WHERE t.geom && ST_Expand(p.geom, {degrees}) AND ST_DWithin(ST_Transform(t.geom, 4547), p.g, {distance}))
ORDER BY t.fid
