-- An invoice's lines with their current classification (none when the model proposed nothing valid).
SELECT l.id AS line_id, l.line_no, l.description, c.account_code AS account, c.source
FROM invoice_lines l LEFT JOIN classifications c ON c.invoice_line_id = l.id
WHERE l.invoice_id = %(invoice_id)s
ORDER BY l.line_no
