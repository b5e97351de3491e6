-- Per-feature mutations of one layer after change id :after, in id order: the rows of
-- onemap.changes, and each onemap.bulk_changes row expanded through the versions it stands for
-- (the layer's versions of that changeset, version 1 for 'insert' and later ones for 'replace',
-- that have no per-feature row of their own), in feature id order under the bulk row's id.
-- :changeset_id (or NULL) narrows to one changeset. {table} is the registry-vouched layer table.
SELECT c.id, c.changeset_id, c.fid, c.op, c.version_before, c.version_after, c.recorded_at, c.unconditional
FROM onemap.changes c
WHERE c.layer_id = :layer_id AND c.id > :after AND (:changeset_id::bigint IS NULL OR c.changeset_id = :changeset_id)
UNION ALL
SELECT b.id, b.changeset_id, t.fid, b.op, NULLIF(t.version - 1, 0), t.version, b.recorded_at, false
FROM onemap.bulk_changes b
JOIN {table} t ON t.changeset_id = b.changeset_id AND (t.version = 1) = (b.op = 'insert')
WHERE b.layer_id = :layer_id AND b.id > :after AND (:changeset_id::bigint IS NULL OR b.changeset_id = :changeset_id)
  AND NOT EXISTS (SELECT 1 FROM onemap.changes f WHERE f.layer_id = :layer_id AND f.fid = t.fid
                  AND f.changeset_id = t.changeset_id AND f.version_after = t.version AND f.op <> 'retire')
ORDER BY 1, 3
