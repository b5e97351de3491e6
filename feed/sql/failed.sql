-- A delivery that failed: keep the cursor, count the failure, wait (exponential back-off, capped)
-- and pause the subscription once :max_failures failures came in a row.
UPDATE onemap.subscriptions
SET failures = failures + 1, last_error = :error::text,
    next_attempt = now() + make_interval(secs => :wait_s::float8),
    state = CASE WHEN failures + 1 >= :max_failures::int THEN 'paused' ELSE state END,
    lease_until = NULL, lease_token = NULL
WHERE id = :id::bigint AND lease_token = :token::text
RETURNING state
