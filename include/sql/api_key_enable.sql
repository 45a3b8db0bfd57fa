-- Back in rotation (the accountant rotated its secret): level with the busiest active key, so the
-- returning key does not take every pick until it catches up.
UPDATE api_keys AS k
SET status = 'active', disabled_at = NULL, disabled_reason = NULL,
    picks = GREATEST(k.picks, COALESCE(
        (SELECT max(a.picks) FROM api_keys a WHERE a.conn_id = k.conn_id AND a.status = 'active'), 0))
WHERE k.name = %(name)s
RETURNING k.name, k.status
