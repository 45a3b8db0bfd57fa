INSERT INTO invoice_lines (
    invoice_id, line_no, description, item_code, quantity, unit_code, unit_price, line_total, tax_amount, tax_percent,
    iva_base
)
VALUES (
    %(invoice_id)s, %(line_no)s, %(description)s, %(item_code)s, %(quantity)s, %(unit_code)s, %(unit_price)s,
    %(line_total)s, %(tax_amount)s, %(tax_percent)s, %(iva_base)s
)
ON CONFLICT (invoice_id, line_no) DO NOTHING
