-- The audit row of a bulk merge: one per (changeset, layer, operation), standing for every version of
-- the layer that the changeset wrote with that operation (version 1: insert, later: replace) and
-- that has no per-feature row in onemap.changes. A second merge of the same kind in the same
-- changeset adds its count and widens the extent. Its id comes from onemap.changes' sequence.
INSERT INTO onemap.bulk_changes (changeset_id, layer_id, op, features, west, south, east, north)
VALUES (:changeset_id::bigint, :layer_id::text, :op::text, :features::bigint,
        :west::float8, :south::float8, :east::float8, :north::float8)
ON CONFLICT (changeset_id, layer_id, op) DO UPDATE
SET features = bulk_changes.features + EXCLUDED.features,
    west = LEAST(bulk_changes.west, EXCLUDED.west), south = LEAST(bulk_changes.south, EXCLUDED.south),
    east = GREATEST(bulk_changes.east, EXCLUDED.east), north = GREATEST(bulk_changes.north, EXCLUDED.north)
