-- Atomic least-used pick shared by every worker: the row lock serializes pickers of one key and
-- SKIP LOCKED sends a concurrent picker to the next key instead of waiting.
-- Keys in exclude (the one the previous attempt used) come last.
UPDATE api_keys
SET picks = picks + 1, last_picked_at = now()
WHERE name = (
    SELECT name FROM api_keys
    WHERE name = ANY(%(names)s::text[]) AND status = 'active'
    ORDER BY name = ANY(%(exclude)s::text[]), picks, name
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING name
