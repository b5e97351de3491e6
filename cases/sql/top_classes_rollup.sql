-- The most reported classes on days [:d0, :d1] from the daily rollup, within the scope and an
-- optional district.
SELECT kind, small_class, sum(reported)::bigint AS n
FROM onemap.case_rollup
WHERE day BETWEEN :d0 AND :d1 AND (:district::text IS NULL OR district = :district)
  AND (:see_all OR department = :scope_department)
GROUP BY kind, small_class
HAVING sum(reported) > 0
ORDER BY n DESC, kind, small_class
LIMIT :limit
