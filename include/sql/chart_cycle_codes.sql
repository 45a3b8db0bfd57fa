-- The accounts a company-cycle's entries use (what its export will carry), with how many invoices use each.
SELECT j.account_code AS code, count(DISTINCT i.id) AS invoices
FROM invoices i JOIN journal_lines j ON j.invoice_id = i.id
WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'classified'
GROUP BY j.account_code
ORDER BY j.account_code
