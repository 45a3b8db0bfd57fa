-- The request's outcome (approved, rejected, refused, failed, superseded); the first outcome stays.
UPDATE approval_requests SET closed_at = now(), outcome = %(outcome)s
WHERE request_id = %(request_id)s AND closed_at IS NULL
