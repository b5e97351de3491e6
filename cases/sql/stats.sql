-- 综合评价: the indicators per {key} for cases reported in [:t0, :t1), within the caller's scope and
-- an optional district or street. "overdue" is the rule of cases.records.timers. Totals are summed
-- by the caller: a plain GROUP BY aggregates in parallel, GROUPING SETS would not.
SELECT {key} AS key,
  count(*) AS reported,
  count(*) FILTER (WHERE accepted_at IS NOT NULL) AS accepted,
  count(*) FILTER (WHERE dispatched_at IS NOT NULL) AS dispatched,
  count(*) FILTER (WHERE state = 'closed') AS closed,
  count(*) FILTER (WHERE dispatched_at IS NOT NULL AND completed_at <= deadline_at) AS on_time_disposal,
  count(*) FILTER (WHERE state = 'closed' AND dispatched_at IS NOT NULL AND completed_at <= deadline_at) AS on_time_close,
  count(*) FILTER (WHERE rework_count > 0) AS rework,
  count(*) FILTER (WHERE dispatched_at IS NOT NULL AND deadline_at IS NOT NULL AND coalesce(completed_at,
    CASE WHEN state IN ('dispatched', 'returned', 'extended') THEN :now::timestamptz END) > deadline_at) AS overdue,
  sum(extract(epoch FROM closed_at - reported_at) / 3600.0) FILTER (WHERE state = 'closed') AS handling_h
FROM data.city_cases
WHERE valid_to IS NULL AND reported_at >= :t0 AND reported_at < :t1 {where}
  AND (:district::text IS NULL OR district = :district)
  AND (:street::text IS NULL OR street = :street)
  AND (:see_all OR department = :scope_department)
GROUP BY {key}
ORDER BY key
