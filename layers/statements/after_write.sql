-- How every versioned write ends: touch the layer's registry row, then tell the tile caches.
-- Touch: the layer's temporal extent (valid time, over every version) only starts earlier when a
-- version starts before it (:earliest, NULL for a retirement); it stays open-ended while any
-- feature is current, and otherwise ends at the last instant anything changed. The EXISTS test
-- uses the current-rows index, so the full scan for the end runs only when the last feature
-- retires. The row is updated only when the extent changes, so writers to one layer do not queue
-- on its registry row. {table} is the registry-vouched layer table.
WITH extent AS (
  SELECT LEAST(l.temporal_start, :earliest::timestamptz) AS lo,
         CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE valid_to IS NULL) THEN NULL
              ELSE (SELECT max(coalesce(valid_to, valid_from)) FROM {table}) END AS hi
  FROM onemap.layers l WHERE l.id = :layer_id
), touched AS (
  UPDATE onemap.layers l SET temporal_start = e.lo, temporal_end = e.hi
  FROM extent e
  WHERE l.id = :layer_id AND (l.temporal_start, l.temporal_end) IS DISTINCT FROM (e.lo, e.hi)
)
-- Delivered at commit, and only if the transaction commits.
SELECT pg_notify(:channel, :payload)
