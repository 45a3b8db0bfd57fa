-- An answer kept on record without effect, with the reason it was refused.
INSERT INTO approval_decisions (cycle_id, company_nit, decision, status, refused_reason, decided_by, comment,
                                run_id, request_id, books_digest)
VALUES (%(cycle_id)s, %(company_nit)s, %(decision)s, 'refused', %(refused_reason)s, %(decided_by)s, %(comment)s,
        %(run_id)s, %(request_id)s, %(books_digest)s)
RETURNING id
