-- Each company's approval state in a cycle: its current decision and its latest request.
SELECT c.nit AS company_nit, c.name AS company_name,
       a.decision, a.decided_by, a.decided_at, a.comment, a.left_out,
       r.request_id, r.requested_at, r.closed_at, r.outcome, r.reason, r.failed_step
FROM companies c
LEFT JOIN company_approvals a ON a.company_nit = c.nit AND a.cycle_id = %(cycle_id)s
LEFT JOIN LATERAL (
    SELECT request_id, requested_at, closed_at, outcome, reason, failed_step FROM approval_requests q
    WHERE q.company_nit = c.nit AND q.cycle_id = %(cycle_id)s
    ORDER BY requested_at DESC LIMIT 1
) r ON true
WHERE c.nit = ANY(%(companies)s)
ORDER BY c.nit
