-- One audit row per accountant action (append-only); applied_from_line_id: the line whose correction
-- this one repeats (NULL when made on the line itself).
INSERT INTO classification_history (invoice_id, invoice_line_id, company_nit, cycle_id, action,
                                    old_account, old_source, new_account, changed_by, applied_from_line_id)
VALUES (%(invoice_id)s, %(line_id)s, %(company_nit)s, %(cycle_id)s, %(action)s,
        %(old_account)s, %(old_source)s, %(new_account)s, %(changed_by)s, %(applied_from)s)
