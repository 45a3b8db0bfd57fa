-- The cycle report's review worklist: every invoice of these companies still in review, with its reasons.
SELECT i.company_nit, c.name AS company_name, i.number, i.issue_date, i.supplier_nit, i.supplier_name,
       i.tax_inclusive_amount, i.status_reason
FROM invoices i JOIN companies c ON c.nit = i.company_nit
WHERE i.cycle_id = %(cycle_id)s AND i.company_nit = ANY(%(companies)s) AND i.status = 'review'
ORDER BY i.company_nit, i.issue_date, i.number
