-- A decision that takes effect. Only the first applied answer of a request is stored (the partial unique
-- index): no row back means the request was already answered, and the caller records this one as refused.
INSERT INTO approval_decisions (cycle_id, company_nit, decision, decided_by, comment, run_id, request_id,
                                books_digest, left_out)
VALUES (%(cycle_id)s, %(company_nit)s, %(decision)s, %(decided_by)s, %(comment)s, %(run_id)s, %(request_id)s,
        %(books_digest)s, %(left_out)s)
ON CONFLICT (request_id) WHERE status = 'applied' AND request_id IS NOT NULL DO NOTHING
RETURNING id
