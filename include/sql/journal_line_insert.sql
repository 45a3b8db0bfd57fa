INSERT INTO journal_lines (invoice_id, seq, account_code, debit, credit, description, base, rate, concept, tax, why)
VALUES (%(invoice_id)s, %(seq)s, %(account)s, %(debit)s, %(credit)s, %(description)s,
        %(base)s, %(rate)s, %(concept)s, %(tax)s, %(why)s)
ON CONFLICT (invoice_id, seq) DO NOTHING
