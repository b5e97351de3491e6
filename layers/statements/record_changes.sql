-- The audit row of every versioned write: one per feature touched, naming the changeset, the
-- operation and the versions before and after. Both write paths embed this statement as the
-- `audit` step of close_versions.sql and insert_versions.sql, reading the CTE `changed`
-- (fid, op, version_before, version_after) that each of them defines.
INSERT INTO onemap.changes (changeset_id, layer_id, fid, op, version_before, version_after)
SELECT :changeset_id::bigint, :layer_id::text, fid, op, version_before, version_after FROM changed
