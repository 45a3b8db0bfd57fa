-- A company's invoices of the cycle (issued before its end) still waiting for classification.
SELECT count(*) AS n FROM invoices
WHERE company_nit = %(company_nit)s AND status = 'pending' AND issue_date < %(before)s
