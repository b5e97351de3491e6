-- The working hours the pending extension asked for (the newest "extend" into the extended state).
SELECT (details->>'deadline_hours')::double precision FROM onemap.case_events
WHERE case_fid = :fid AND action = 'extend' AND to_state = 'extended'
ORDER BY version DESC LIMIT 1
