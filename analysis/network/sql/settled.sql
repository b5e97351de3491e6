-- Of the writers that were in flight when a graph was built (their changes could carry ids below
-- the graph's stamp and commit later): which are still running, and whether one that committed
-- wrote either layer. xmin is the 32-bit form of the 64-bit xid8.
WITH w AS (SELECT x, pg_xact_status(x::text::xid8) AS status FROM unnest(:xids::bigint[]) x)
SELECT ARRAY(SELECT x FROM w WHERE status = 'in progress') AS running,
       EXISTS (SELECT 1 FROM onemap.changes c
               WHERE c.layer_id IN (:segments, :points)
                 AND c.xmin::text::bigint IN (SELECT x % 4294967296 FROM w WHERE status = 'committed')) AS wrote
