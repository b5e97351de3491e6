-- One layer of one vector tile, as MVT bytes (empty when nothing falls in the tile).
--
-- Filled in by tiles.mvt: {table} and {columns} are registry-vouched identifiers quoted with
-- layers.sql.quote_ident; {geom} is the geometry expression (simplify / transform to the tile
-- matrix set's CRS); {where} holds the temporal predicate (layers.temporal), below full detail
-- the overview-zoom test `t.tile_zoom <= <zoom>::smallint` (tiles.mvt.size_filter, an integer
-- literal computed from zoom and level) and any CQL2 filter. Every other value — envelopes,
-- tolerances, instants, the layer name — is a bound $n parameter.
--
-- The && test against the tile's EPSG:4490 box comes first so a partial GiST index on current
-- rows does the work: (tile_zoom, geom) below full detail, so an overview tile reads only the
-- rows it draws, (geom) at full detail; closed versions (as-of reads) go through the
-- geom+validity GiST. Rows whose geometry
-- collapses to nothing in the tile come back NULL and ST_AsMVT skips them; filtering them in
-- SQL instead would make PostgreSQL compute ST_AsMVTGeom twice per row.
SELECT coalesce(ST_AsMVT(q, {name}, {extent}, 'geom', 'fid'), ''::bytea)
FROM (
  SELECT ST_AsMVTGeom({geom}, ST_MakeEnvelope({tile_env})::box2d, {extent}, {buffer}, true) AS geom,
         t.fid{columns}
  FROM {table} t
  WHERE t.geom && ST_MakeEnvelope({bbox_4490}, 4490)
    AND {where}
  {order_limit}
) q
