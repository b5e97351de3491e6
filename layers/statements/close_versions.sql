-- Close the open version of each feature in {closing} (columns fid, version, at). A version ends
-- at its `at` (else :at, else the transaction's now()), and superseded_at records when we learned
-- it. Only a version that is still open is closed, and never before it began; any other row is
-- left as it was, and the caller compares `closed` with `asked` to refuse the whole write.
-- With :retiring the closing is the change itself (op 'retire', version unchanged) and is audited
-- here; otherwise the new version that insert_versions.sql writes carries the audit row.
-- {table} is the registry-vouched layer table.
WITH closing AS (
  {closing}
), closed AS (
  UPDATE {table} t
  SET valid_to = coalesce(c.at, :at::timestamptz, now()), superseded_at = now()
  FROM closing c
  WHERE t.fid = c.fid AND t.version = c.version AND t.valid_to IS NULL
    AND coalesce(c.at, :at::timestamptz, now()) >= t.valid_from
  RETURNING t.fid, t.version, t.valid_from, t.valid_to, t.recorded_at,
            ST_XMin(t.geom) AS x0, ST_YMin(t.geom) AS y0, ST_XMax(t.geom) AS x1, ST_YMax(t.geom) AS y1
), changed AS (
  SELECT fid, 'retire'::text AS op, version AS version_before, version AS version_after
  FROM closed WHERE :retiring::boolean
), audit AS (
  {record_changes}
)
-- For a single feature the aggregates are simply its values.
SELECT (SELECT count(*) FROM closing) AS asked, count(*) AS closed,
       min(valid_from) AS valid_from, max(valid_to) AS valid_to, min(recorded_at) AS recorded_at,
       min(x0) AS xmin, min(y0) AS ymin, max(x1) AS xmax, max(y1) AS ymax
FROM closed
