-- The decision already recorded for a company and cycle (an earlier run, or the review page), if any.
SELECT decision, decided_by, comment FROM company_approvals
WHERE cycle_id = %(cycle_id)s AND company_nit = %(company_nit)s
