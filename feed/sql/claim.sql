-- Claim one due subscription for delivery: active, due, and not leased by another worker (any
-- instance). SKIP LOCKED lets concurrent workers pass each other; the lease (token + expiry) keeps
-- the claim after this short transaction ends, while the HTTP request runs.
UPDATE onemap.subscriptions s
SET lease_until = now() + make_interval(secs => :lease_s::float8), lease_token = :token::text
WHERE s.id = (
  SELECT id FROM onemap.subscriptions
  WHERE state = 'active' AND deleted_at IS NULL AND next_attempt <= now()
    AND (lease_until IS NULL OR lease_until < now())
    AND (:only_id::bigint IS NULL OR id = :only_id::bigint)
  ORDER BY next_attempt, id
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
RETURNING s.*
