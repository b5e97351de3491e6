-- One event per case version (the history and the live feed); its statement notifies onemap_cases.
INSERT INTO onemap.case_events (case_fid, version, action, from_state, to_state, actor, at, reason, details,
                                attachments, department, data)
VALUES (:fid, :version, :action, :from_state, :to_state, :actor, :at, :reason, :details, :attachments,
        :department, :data)
RETURNING id
