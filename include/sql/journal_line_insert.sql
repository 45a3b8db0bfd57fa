INSERT INTO journal_lines (invoice_id, seq, account_code, debit, credit, description)
VALUES (%(invoice_id)s, %(seq)s, %(account)s, %(debit)s, %(credit)s, %(description)s)
ON CONFLICT (invoice_id, seq) DO NOTHING
