-- Requests waiting for an answer since before a moment: the companies an accountant owes a decision.
SELECT r.cycle_id, r.company_nit, c.name AS company_name, r.request_id, r.requested_at, r.reason
FROM approval_requests r JOIN companies c ON c.nit = r.company_nit
WHERE r.closed_at IS NULL AND r.requested_at < %(before)s
ORDER BY r.requested_at
