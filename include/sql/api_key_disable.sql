-- Keeps the first disable's time and reason if several workers see the same 401.
UPDATE api_keys
SET status = 'disabled', disabled_at = now(), disabled_reason = %(reason)s
WHERE name = %(name)s AND status = 'active'
