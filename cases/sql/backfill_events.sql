-- One event per case version that has none (versions written in bulk: the sample loader, the
-- benchmark), oldest id first in time order. The action of a move is the transitions table's
-- (from, to) — unique for every pair — and the actor the role that usually makes it.
INSERT INTO onemap.case_events (case_fid, version, action, from_state, to_state, actor, at, reason, details,
                                department, data)
SELECT v.fid, v.version, a.action, p.state, v.state,
       CASE a.action WHEN 'report' THEN coalesce(v.reporter, :actor)
                     WHEN 'accept' THEN '示例受理员' WHEN 'reject' THEN '示例受理员'
                     WHEN 'dispatch' THEN '示例派遣员' WHEN 'redispatch' THEN '示例派遣员'
                     WHEN 'complete' THEN coalesce(v.handler, '示例处置员')
                     WHEN 'return' THEN '示例处置员' WHEN 'verify' THEN coalesce(v.reporter, '示例监督员')
                     WHEN 'close' THEN coalesce(v.reporter, '示例监督员')
                     WHEN 'extend' THEN CASE WHEN v.state = 'extended' THEN '示例处置员' ELSE '示例值班长' END
                     ELSE '示例值班长' END,
       v.valid_from,
       CASE a.action WHEN 'reject' THEN :reason_reject WHEN 'return' THEN :reason_return
                     WHEN 'hang' THEN :reason_hang WHEN 'cancel' THEN :reason_cancel
                     WHEN 'extend' THEN CASE WHEN v.state = 'extended' THEN :reason_extend END END,
       jsonb_build_object('backfilled', true),
       v.department,
       jsonb_build_object('id', v.fid, 'case_no', v.case_no, 'state', v.state, 'action', a.action, 'kind', v.kind,
                          'big_class', v.big_class, 'small_class', v.small_class, 'grid_code', v.grid_code,
                          'district', v.district, 'department', v.department, 'at', v.valid_from)
FROM data.city_cases v
LEFT JOIN data.city_cases p ON v.version > 1 AND p.fid = v.fid AND p.version = v.version - 1
CROSS JOIN LATERAL (
  SELECT CASE WHEN v.version = 1 THEN 'report'
              WHEN p.state = 'verifying' AND v.state = 'dispatched' THEN 'redispatch'
              ELSE (SELECT t.action FROM onemap.case_transitions t
                    WHERE t.from_state = p.state AND t.to_state = v.state LIMIT 1) END AS action
) a
WHERE NOT EXISTS (SELECT 1 FROM onemap.case_events e WHERE e.case_fid = v.fid AND e.version = v.version)
ORDER BY v.valid_from, v.fid, v.version
