-- The non-empty cells of one layer at the 3D content level, for the tileset (tiles.threed_tileset).
--
-- A feature belongs to the cell holding the centre of its bounding box (its 3D mesh is never cut);
-- threed_content.sql selects a cell's features with the very same expressions, so the tileset and
-- the content agree. Each cell reports its features' extent (the tile's region is that extent,
-- padded) and the height range of its meshes relative to the ground (<low>, <high>).
-- <table> is registry-vouched; <where> is the temporal predicate; $1 is the cell size in degrees.
SELECT floor(((ST_XMin(t.geom) + ST_XMax(t.geom)) / 2 + 180) / $1)::int AS x,
       floor((90 - (ST_YMin(t.geom) + ST_YMax(t.geom)) / 2) / $1)::int AS y,
       count(*) AS n,
       min(ST_XMin(t.geom)) AS west, min(ST_YMin(t.geom)) AS south,
       max(ST_XMax(t.geom)) AS east, max(ST_YMax(t.geom)) AS north,
       {low} AS low, {high} AS high
FROM {table} t
WHERE {where}
GROUP BY 1, 2
