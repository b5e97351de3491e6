-- 综合评价 per {key} (district or department) from the daily rollup (migration 0011_cases) for days
-- [:d0, :d1]; "overdue" adds, live, the cases still with a department past their deadline now.
SELECT r.key, sum(r.reported)::bigint AS reported, sum(r.accepted)::bigint AS accepted,
  sum(r.dispatched)::bigint AS dispatched, sum(r.closed)::bigint AS closed,
  sum(r.on_time_disposal)::bigint AS on_time_disposal, sum(r.on_time_close)::bigint AS on_time_close,
  sum(r.rework)::bigint AS rework, sum(r.overdue)::bigint AS overdue, sum(r.handling_h)::float8 AS handling_h
FROM (
  SELECT nullif({key}, '') AS key, reported, accepted, dispatched, closed, on_time_disposal, on_time_close, rework,
         overdue_done AS overdue, handling_h
  FROM onemap.case_rollup
  WHERE day BETWEEN :d0 AND :d1 AND (:district::text IS NULL OR district = :district)
    AND (:see_all OR department = :scope_department)
  UNION ALL
  SELECT {key}, 0, 0, 0, 0, 0, 0, 0, 1, 0
  FROM data.city_cases
  WHERE valid_to IS NULL AND state IN ('dispatched', 'returned', 'extended') AND completed_at IS NULL
    AND dispatched_at IS NOT NULL AND deadline_at < :now AND reported_at >= :t0 AND reported_at < :t1
    AND (:district::text IS NULL OR district = :district)
    AND (:see_all OR department = :scope_department)
) r
GROUP BY r.key
HAVING sum(r.reported) > 0
ORDER BY r.key
