SELECT request_id, cycle_id, company_nit, books_digest, reason, requested_at, requested_by, closed_at, outcome
FROM approval_requests WHERE request_id = %(request_id)s
