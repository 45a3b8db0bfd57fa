-- A step of the request's run failed (after an answer, or before one): the reports flag it.
UPDATE approval_requests
SET failed_step = %(failed_step)s, closed_at = coalesce(closed_at, now()), outcome = coalesce(outcome, 'failed')
WHERE request_id = %(request_id)s
