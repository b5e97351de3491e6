-- What a cached graph is checked against on every use (analysis/network/cache.py): which
-- database this is, and the newest change of each of the category's two layers (one backward
-- probe each in changes_layer_latest, migration 0007_network, and in bulk_changes_layer, migration
-- 0010_import: a bulk import audits one bulk_changes row per layer instead of a row per feature).
SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' ||
         (SELECT oid FROM pg_database WHERE datname = current_database())::text AS database,
       greatest(coalesce((SELECT max(id) FROM onemap.changes WHERE layer_id = :segments), 0),
                coalesce((SELECT max(id) FROM onemap.bulk_changes WHERE layer_id = :segments), 0)) AS segments_change,
       greatest(coalesce((SELECT max(id) FROM onemap.changes WHERE layer_id = :points), 0),
                coalesce((SELECT max(id) FROM onemap.bulk_changes WHERE layer_id = :points), 0)) AS points_change,
       ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(pg_current_snapshot()) x) AS in_flight
