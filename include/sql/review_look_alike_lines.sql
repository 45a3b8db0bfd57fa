-- Lines a correction may be repeated on: a company's lines of one cycle's invoices in review or
-- classified, and its lines of invoices in review of any cycle; of some suppliers only when given.
SELECT l.id AS line_id, l.line_no, l.description, i.id AS invoice_id, i.number, i.cycle_id, i.status,
       i.supplier_nit, c.account_code AS account, c.source
FROM invoices i
JOIN invoice_lines l ON l.invoice_id = i.id
LEFT JOIN classifications c ON c.invoice_line_id = l.id
WHERE i.company_nit = %(company_nit)s
  AND ((i.cycle_id = %(cycle_id)s AND i.status IN ('review', 'classified')) OR i.status = 'review')
  AND (%(suppliers)s::text[] IS NULL OR i.supplier_nit = ANY(%(suppliers)s::text[]))
ORDER BY i.id, l.line_no
