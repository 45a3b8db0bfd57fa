-- Every answer and reopening of a company-cycle, oldest first (refused ones included).
SELECT id, decision, status, refused_reason, decided_by, decided_at, comment, run_id, request_id, left_out
FROM approval_decisions
WHERE cycle_id = %(cycle_id)s AND company_nit = %(company_nit)s
ORDER BY id
