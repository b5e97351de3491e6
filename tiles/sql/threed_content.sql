-- The features of one 3D content cell: those whose bounding-box centre lies in the cell
-- (same expressions as threed_cells.sql). The && test lets the GiST index find candidates: a
-- feature whose box centre is in the cell has a box meeting the cell.
-- <columns> are registry-vouched attribute columns, <joins> the ground-elevation lookups of
-- pipeline segments (threed_ground.sql) or nothing, <where> the temporal predicate.
SELECT t.fid, ST_AsBinary(t.geom) AS wkb{columns}{ground}
FROM {table} t{joins}
WHERE t.geom && ST_MakeEnvelope($1, $2, $3, $4, 4490)
  AND floor(((ST_XMin(t.geom) + ST_XMax(t.geom)) / 2 + 180) / $5) = $6::float8
  AND floor((90 - (ST_YMin(t.geom) + ST_YMax(t.geom)) / 2) / $5) = $7::float8
  AND {where}
ORDER BY t.fid
