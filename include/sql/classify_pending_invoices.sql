-- A company's invoices still waiting for classification, issued before the cycle's end
-- (late arrivals from earlier quincenas are included: nothing is left behind), with their lines;
-- only those of `invoice_ids` when given (a lane's batch).
SELECT i.id, i.number, i.doc_type, i.supplier_nit, i.supplier_name, i.issue_date, i.currency,
       json_agg(json_build_object(
           'line_id', l.id, 'line_no', l.line_no, 'description', l.description,
           'quantity', l.quantity::text, 'unit_price', l.unit_price::text,
           'line_total', l.line_total::text, 'tax_percent', l.tax_percent::text
       ) ORDER BY l.line_no) FILTER (WHERE l.id IS NOT NULL) AS lines
FROM invoices i
LEFT JOIN invoice_lines l ON l.invoice_id = i.id
WHERE i.company_nit = %(company_nit)s
  AND i.status = 'pending'
  AND i.issue_date < %(before)s
  AND (%(invoice_ids)s::bigint[] IS NULL OR i.id = ANY(%(invoice_ids)s::bigint[]))
GROUP BY i.id
ORDER BY i.issue_date, i.id
