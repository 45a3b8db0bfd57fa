-- The line a correction is repeated from, with its invoice, only if it is this company's in this cycle.
SELECT l.id AS line_id, l.line_no, l.description, i.id AS invoice_id, i.number, i.cycle_id, i.status,
       i.supplier_nit, c.account_code AS account, c.source
FROM invoice_lines l
JOIN invoices i ON i.id = l.invoice_id
LEFT JOIN classifications c ON c.invoice_line_id = l.id
WHERE l.id = %(line_id)s AND i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s
