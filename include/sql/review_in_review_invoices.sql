-- The invoices of a company-cycle still in review: left out of an approved export.
SELECT id, number, supplier_name FROM invoices
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND status = 'review'
ORDER BY issue_date, id
