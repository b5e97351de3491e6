-- How many changes of the two layers a graph's snapshot saw at or below its stamp: read only when
-- writers were in flight, so that settled.sql can tell whether one of them has since committed.
SELECT (SELECT count(*) FROM onemap.changes WHERE layer_id = :segments AND id <= :segments_change) +
         (SELECT count(*) FROM onemap.bulk_changes WHERE layer_id = :segments AND id <= :segments_change) +
       (SELECT count(*) FROM onemap.changes WHERE layer_id = :points AND id <= :points_change) +
         (SELECT count(*) FROM onemap.bulk_changes WHERE layer_id = :points AND id <= :points_change) AS seen
