-- Of the writers that were in flight when a graph was built (their change ids may lie below the
-- graph's stamp and commit later): which are still running; and, once one has committed, how
-- many changes of the two layers now sit at or below the stamp. A writer's change rows carry
-- the xids of its savepoints, not its own, so rows are counted rather than matched by xmin.
WITH w AS (SELECT x, pg_xact_status(x::text::xid8) AS status FROM unnest(:xids::bigint[]) x)
SELECT ARRAY(SELECT x FROM w WHERE status = 'in progress') AS running,
       CASE WHEN EXISTS (SELECT 1 FROM w WHERE status = 'committed') THEN
         (SELECT count(*) FROM onemap.changes WHERE layer_id = :segments AND id <= :segments_change) +
         (SELECT count(*) FROM onemap.bulk_changes WHERE layer_id = :segments AND id <= :segments_change) +
         (SELECT count(*) FROM onemap.changes WHERE layer_id = :points AND id <= :points_change) +
         (SELECT count(*) FROM onemap.bulk_changes WHERE layer_id = :points AND id <= :points_change)
       END AS seen
