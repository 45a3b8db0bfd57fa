-- The applied answer of a request, if any.
SELECT id, decision, decided_by, decided_at, comment FROM approval_decisions
WHERE request_id = %(request_id)s AND status = 'applied'
