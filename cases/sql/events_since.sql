-- Events after :after_id, oldest first, that a scope sees (all, or one department's).
SELECT id, data FROM onemap.case_events
WHERE id > :after_id AND (:see_all OR department = :department)
ORDER BY id
LIMIT :limit
