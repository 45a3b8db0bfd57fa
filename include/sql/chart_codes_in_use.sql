-- The accounts a company's open books use (quincenas not approved, or reopened): the proposals and choices of
-- its lines and the accounts of its entries, each with its invoices and quincenas. A chart re-import warns
-- about those its program would now refuse.
SELECT u.code, count(DISTINCT u.invoice_id) AS invoices, string_agg(DISTINCT u.cycle_id, ', ') AS cycles
FROM (
    SELECT c.account_code AS code, i.id AS invoice_id, i.cycle_id, i.company_nit
    FROM classifications c JOIN invoices i ON i.id = c.invoice_id
    WHERE i.company_nit = %(company_nit)s AND i.status IN ('review', 'classified')
    UNION ALL
    SELECT j.account_code, i.id, i.cycle_id, i.company_nit
    FROM journal_lines j JOIN invoices i ON i.id = j.invoice_id
    WHERE i.company_nit = %(company_nit)s AND i.status = 'classified'
) u
LEFT JOIN company_approvals a ON a.company_nit = u.company_nit AND a.cycle_id = u.cycle_id
WHERE a.decision IS DISTINCT FROM 'approved'
GROUP BY u.code
ORDER BY u.code
