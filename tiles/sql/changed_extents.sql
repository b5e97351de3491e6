-- Per changeset, the EPSG:4490 extent of every version a change after $1 touched in one layer:
-- the version it closed (old geometry) and the one it wrote (new geometry).
-- {table} is the layer's registry-vouched table name.
SELECT changeset_id, ST_XMin(box) AS xmin, ST_YMin(box) AS ymin, ST_XMax(box) AS xmax, ST_YMax(box) AS ymax
FROM (
  SELECT c.changeset_id, ST_Extent(t.geom) AS box
  FROM onemap.changes c
  JOIN {table} t ON t.fid = c.fid AND t.version IN (c.version_before, c.version_after)
  WHERE c.id > $1 AND c.layer_id = $2
  GROUP BY c.changeset_id
) e
ORDER BY changeset_id
