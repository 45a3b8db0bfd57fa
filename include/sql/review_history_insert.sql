-- One audit row per accountant action (append-only).
INSERT INTO classification_history (invoice_id, invoice_line_id, company_nit, cycle_id, action,
                                    old_account, old_source, new_account, changed_by)
VALUES (%(invoice_id)s, %(line_id)s, %(company_nit)s, %(cycle_id)s, %(action)s,
        %(old_account)s, %(old_source)s, %(new_account)s, %(changed_by)s)
