-- How many current cases are in each asked state, within the caller's scope.
SELECT state, count(*) AS n
FROM data.city_cases
WHERE valid_to IS NULL AND state = ANY(:states::text[])
  AND (:department::text IS NULL OR department = :department)
  AND (:see_all OR department = :scope_department)
GROUP BY state
