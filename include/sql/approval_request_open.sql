-- An approval request made to the accountant (once per books run: a retried step finds it there).
INSERT INTO approval_requests (request_id, cycle_id, company_nit, books_digest, reason, requested_by)
VALUES (%(request_id)s, %(cycle_id)s, %(company_nit)s, %(books_digest)s, %(reason)s, %(requested_by)s)
ON CONFLICT (request_id) DO NOTHING
