-- The accountant's choice for a line: it replaces whatever was proposed, with full confidence.
INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence, source, cycle_id)
VALUES (%(line_id)s, %(invoice_id)s, %(company_nit)s, %(account)s, 1, 'accountant', %(cycle_id)s)
ON CONFLICT (invoice_line_id) DO UPDATE
SET account_code = EXCLUDED.account_code, confidence = 1, source = 'accountant',
    model = NULL, call_id = NULL, rationale = NULL
