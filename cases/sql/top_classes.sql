-- The most reported classes in [:t0, :t1), within the scope and an optional district or street.
SELECT kind, small_class, count(*) AS n
FROM data.city_cases
WHERE valid_to IS NULL AND reported_at >= :t0 AND reported_at < :t1
  AND (:district::text IS NULL OR district = :district)
  AND (:street::text IS NULL OR street = :street)
  AND (:see_all OR department = :scope_department)
GROUP BY kind, small_class
ORDER BY n DESC, kind, small_class
LIMIT :limit
