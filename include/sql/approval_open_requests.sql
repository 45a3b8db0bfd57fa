-- The requests of a company-cycle still waiting for an answer.
SELECT request_id, books_digest, reason, requested_at FROM approval_requests
WHERE cycle_id = %(cycle_id)s AND company_nit = %(company_nit)s AND closed_at IS NULL
ORDER BY requested_at
