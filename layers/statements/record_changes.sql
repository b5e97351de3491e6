-- The audit row of every versioned write: one per feature touched, naming the changeset, the
-- operation and the versions before and after. Both write paths embed this statement as the
-- `audit` step of close_versions.sql and insert_versions.sql, reading the CTE `changed`
-- (fid, op, version_before, version_after) that each of them defines. :unconditional marks a Part 4
-- write that named no version (no If-Match, or `*`); imports and the sample loader pass false.
INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after, unconditional)
SELECT :changeset_id::bigint, :layer_id::text, fid, op, version_before, version_after, :unconditional::boolean
FROM changed
