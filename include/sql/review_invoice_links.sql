-- A company-cycle's invoices of one status, just what a link needs (the page lists them, not their lines).
SELECT id, number FROM invoices
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND status = %(status)s
ORDER BY issue_date, number, id
