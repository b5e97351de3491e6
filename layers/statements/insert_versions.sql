-- Write the new versions in {incoming} (columns fid, version, valid_from, src_hash, geom_wkb and
-- the layer's attribute columns) and their audit rows. A version is valid from its own
-- valid_from, else :valid_from, else the transaction's now(): the same instant close_versions.sql
-- gave the version it replaces. Version 1 is an 'insert'; any later one is :op.
-- Geometry arrives as WKB in EPSG:{srid} (lon/lat degrees). {table} and {columns} come from
-- the registry.
WITH written AS (
  INSERT INTO {table} (fid, version, valid_from, changeset_id, src_hash, geom{columns})
  SELECT i.fid, i.version, coalesce(i.valid_from, :valid_from::timestamptz, now()), :changeset_id::bigint,
         i.src_hash, ST_GeomFromWKB(i.geom_wkb, {srid}){incoming_columns}
  FROM ({incoming}) i
  RETURNING fid, version, valid_from, recorded_at,
            ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1
), changed AS (
  SELECT fid, CASE WHEN version = 1 THEN 'insert' ELSE :op::text END AS op,
         NULLIF(version - 1, 0) AS version_before, version AS version_after
  FROM written
), audit AS (
  {record_changes}
)
-- For a single feature the aggregates are simply its values.
SELECT count(*) AS written, min(fid) AS fid, min(version) AS version, min(valid_from) AS valid_from,
       min(recorded_at) AS recorded_at, min(x0) AS xmin, min(y0) AS ymin, max(x1) AS xmax, max(y1) AS ymax
FROM written
