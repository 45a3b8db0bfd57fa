-- The approval step's decision for a company and cycle; a later decision (a re-run) replaces it.
INSERT INTO company_approvals (cycle_id, company_nit, decision, decided_by, comment, run_id)
VALUES (%(cycle_id)s, %(company_nit)s, %(decision)s, %(decided_by)s, %(comment)s, %(run_id)s)
ON CONFLICT (cycle_id, company_nit) DO UPDATE
SET decision = EXCLUDED.decision, decided_by = EXCLUDED.decided_by, decided_at = now(),
    comment = EXCLUDED.comment, run_id = EXCLUDED.run_id
