-- A page of current cases for the console and task lists, newest report first, within the caller's
-- scope ({scope}: all, or one department) and the asked states and department.
SELECT fid, version, valid_from, ST_X(geom) AS lon, ST_Y(geom) AS lat{columns}
FROM data.city_cases
WHERE valid_to IS NULL AND state = ANY(:states::text[])
  AND (:department::text IS NULL OR department = :department)
  AND (:see_all OR department = :scope_department)
ORDER BY reported_at DESC, fid DESC
LIMIT :limit OFFSET :offset
