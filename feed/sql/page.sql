-- One layer's mutations after the cursor (:seq, :id, :fid), in commit order: committed
-- transactions by their commit number (onemap.feed_commits.seq), then change id, then feature id
-- (a bulk merge row stands for many features). Per-feature rows come from onemap.changes; bulk
-- merges (onemap.bulk_changes) are expanded through the versions of their changeset that have no
-- per-feature row of their own (as layers/statements/feature_changes.sql does). Each row is one
-- mutation rendered as JSON text, with the feature (GeoJSON, CRS84, as the items endpoint writes
-- it) for inserts and updates. :ops (NULL: all) keeps only those operations.
-- Placeholders: /*table*/ the registry-vouched layer table, /*feature*/ the feature expression,
-- Timestamps are JSON-encoded by PostgreSQL (ISO 8601; feed.pages reads in UTC), cheaper than to_char.
WITH m AS (
  SELECT fc.seq, fc.committed_at, x.id, x.changeset_id, x.fid, x.op, x.version_before, x.version_after,
         x.recorded_at, x.unconditional
  FROM onemap.feed_commits fc
  CROSS JOIN LATERAL (
    SELECT c.id, c.changeset_id, c.fid, c.op, c.version_before, c.version_after, c.recorded_at, c.unconditional
    FROM onemap.changes c
    WHERE c.layer_id = :layer_id AND c.xid = fc.xid
      AND (fc.seq > :seq OR c.id > :id OR (c.id = :id AND c.fid > :fid))  -- resume inside a commit
    UNION ALL
    SELECT b.id, b.changeset_id, t.fid, b.op, NULLIF(t.version - 1, 0), t.version, b.recorded_at, false
    FROM onemap.bulk_changes b
    JOIN /*table*/ t ON t.changeset_id = b.changeset_id AND (t.version = 1) = (b.op = 'insert')
    WHERE b.layer_id = :layer_id AND b.xid = fc.xid
      AND (fc.seq > :seq OR b.id > :id OR (b.id = :id AND t.fid > :fid))
      AND NOT EXISTS (SELECT 1 FROM onemap.changes f WHERE f.layer_id = :layer_id AND f.fid = t.fid
                      AND f.changeset_id = t.changeset_id AND f.version_after = t.version AND f.op <> 'retire')
  ) x
  WHERE fc.seq >= :seq AND fc.seq <= :head AND (fc.seq, x.id, x.fid) > (:seq, :id, :fid)
    AND (:ops::text[] IS NULL OR (CASE x.op WHEN 'replace' THEN 'update' ELSE x.op END) = ANY(:ops::text[]))
  ORDER BY fc.seq, x.id, x.fid
  LIMIT :limit
)
SELECT m.seq, m.id, m.fid,
       left(json_build_object(
         'cursor', m.seq || '.' || m.id || '.' || m.fid,
         'collection', :layer_id::text,
         'operation', CASE m.op WHEN 'replace' THEN 'update' ELSE m.op END,
         'method', m.op,
         'featureId', m.fid,
         'version', m.version_after,
         'versionBefore', m.version_before,
         'validFrom', v.valid_from,
         'validTo', v.valid_to,
         'recordedAt', m.recorded_at,
         'committedAt', m.committed_at,
         'changeset', m.changeset_id,
         'actor', s.actor,
         'source', s.source,
         'comment', s.details->>'comment',
         'unconditional', m.unconditional
       )::text, -1) || ',"feature":' || coalesce(v.feature, 'null') || '}' AS mutation
FROM m
JOIN onemap.changesets s ON s.id = m.changeset_id
LEFT JOIN LATERAL (
  SELECT valid_from, valid_to, CASE WHEN m.op <> 'retire' THEN /*feature*/ END AS feature
  FROM /*table*/ WHERE fid = m.fid AND version = m.version_after
) v ON true
ORDER BY m.seq, m.id, m.fid
