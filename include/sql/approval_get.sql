-- The current decision of a company and cycle (its latest applied one), if any.
SELECT decision, decided_by, decided_at, comment, run_id, request_id, books_digest, decision_id
FROM company_approvals
WHERE cycle_id = %(cycle_id)s AND company_nit = %(company_nit)s
