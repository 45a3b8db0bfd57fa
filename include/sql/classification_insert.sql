-- One classification per line, ever: a rerun or a retried task finds it there and adds nothing.
INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence,
                             source, model, prompt_version, call_id, cycle_id, rationale)
VALUES (%(line_id)s, %(invoice_id)s, %(company_nit)s, %(account)s, %(confidence)s,
        %(source)s, %(model)s, %(prompt_version)s, %(call_id)s, %(cycle_id)s, %(rationale)s)
ON CONFLICT (invoice_line_id) DO NOTHING
