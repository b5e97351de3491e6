-- The union of the current unit grid cells (CJ/T 213) under a street, community or one cell code.
SELECT ST_AsBinary(ST_Multi(ST_Union(geom))) AS wkb, count(*) AS parts
FROM {table} WHERE valid_to IS NULL AND {where}
