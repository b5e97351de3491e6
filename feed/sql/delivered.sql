-- A delivery the receiver accepted (or an empty batch): move the cursor, clear the failure count,
-- release the lease. Only the lease holder may: a worker whose lease ran out changes nothing.
UPDATE onemap.subscriptions
SET cursor = :cursor::text, failures = 0, last_error = NULL, next_attempt = now(),
    last_delivered_at = CASE WHEN :delivered::boolean THEN now() ELSE last_delivered_at END,
    lease_until = NULL, lease_token = NULL
WHERE id = :id::bigint AND lease_token = :token::text
RETURNING id
