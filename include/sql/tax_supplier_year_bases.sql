-- ReteFuente bases by concept already in the buyer's books for one supplier in one year: the earlier
-- entries (issue date, then id, before the invoice's own), a credit note's reversal subtracting.
-- What an annual threshold is measured on (honorarios: the higher rate above 3,300 UVT paid in the year).
SELECT j.concept, sum(CASE WHEN j.credit > 0 THEN j.base ELSE -j.base END)::text AS base
FROM journal_lines j
JOIN invoices i ON i.id = j.invoice_id
WHERE i.company_nit = %(company_nit)s
  AND i.supplier_nit = %(supplier_nit)s
  AND j.tax = 'retefuente'
  AND i.issue_date >= make_date(%(year)s, 1, 1) AND i.issue_date < make_date(%(year)s + 1, 1, 1)
  AND (i.issue_date, i.id) < (%(issue_date)s::date, %(invoice_id)s::bigint)
GROUP BY j.concept
