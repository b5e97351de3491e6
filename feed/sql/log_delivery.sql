-- One delivery attempt, for GET /subscriptions/{id} and the operators.
INSERT INTO onemap.deliveries (id, subscription_id, cursor_from, cursor_to, mutations, status, error, ok, elapsed_ms)
VALUES (:id::bigint, :subscription_id::bigint, :cursor_from::text, :cursor_to::text, :mutations::int,
        :status::int, :error::text, :ok::boolean, :elapsed_ms::float8)
