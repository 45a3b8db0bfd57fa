-- Cycles with invoices, newest first, with how many are still in review; with %(nits)s a NIT list,
-- counting only those companies' invoices (NULL: every company).
SELECT cycle_id, count(*) AS invoices, count(*) FILTER (WHERE status = 'review') AS review
FROM invoices
WHERE %(nits)s::text[] IS NULL OR company_nit = ANY(%(nits)s::text[])
GROUP BY cycle_id
ORDER BY cycle_id DESC
