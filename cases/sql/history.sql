-- A case's history: one event per version (who, when, why, which photos), oldest first.
SELECT e.version, e.action, e.from_state, e.to_state, e.actor, e.at, e.reason, e.details, e.attachments
FROM onemap.case_events e
WHERE e.case_fid = :fid
ORDER BY e.version, e.id
