INSERT INTO invoice_taxes (invoice_id, kind, seq, scheme_id, scheme_name, taxable_amount, amount, percent)
VALUES (%(invoice_id)s, %(kind)s, %(seq)s, %(scheme_id)s, %(scheme_name)s, %(taxable_amount)s, %(amount)s,
        %(percent)s)
ON CONFLICT (invoice_id, kind, seq) DO NOTHING
