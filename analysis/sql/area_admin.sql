-- An administrative area (district or sub-district) by code or exact name, current version.
SELECT {code} AS code, name, ST_AsBinary(ST_Multi(geom)) AS wkb, 1 AS parts
FROM {table} WHERE valid_to IS NULL AND ({code} = {value} OR name = {value})
ORDER BY fid LIMIT 1
