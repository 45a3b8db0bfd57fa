-- Same pick, waiting for the lock: used when every active key was momentarily locked by other pickers.
UPDATE api_keys
SET picks = picks + 1, last_picked_at = now()
WHERE name = (
    SELECT name FROM api_keys
    WHERE name = ANY(%(names)s::text[]) AND status = 'active'
    ORDER BY name = ANY(%(exclude)s::text[]), picks, name
    LIMIT 1
    FOR UPDATE
)
AND status = 'active'
RETURNING name
