-- Label points of one polygon layer in one tile, as a separate MVT layer "<layer>_labels".
--
-- A polygon cut into several tiles would be labelled once per piece; one point on its surface,
-- kept only by the tile that holds it (no buffer), gives one label per feature.
-- Placeholders as in layer_tile.sql; {point} is the point expression in the tile's CRS.
SELECT coalesce(ST_AsMVT(q, {name}, {extent}, 'geom', 'fid'), ''::bytea)
FROM (
  SELECT ST_AsMVTGeom({point}, ST_MakeEnvelope({tile_env})::box2d, {extent}, 0, true) AS geom,
         t.fid, t.{label}
  FROM {table} t
  WHERE t.geom && ST_MakeEnvelope({bbox_4490}, 4490)
    AND ST_PointOnSurface(t.geom) && ST_MakeEnvelope({tile_4490}, 4490)
    AND t.{label} IS NOT NULL
    AND {where}
) q
