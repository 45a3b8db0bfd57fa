-- Cycles with invoices, newest first, with how many are still in review.
SELECT cycle_id, count(*) AS invoices, count(*) FILTER (WHERE status = 'review') AS review
FROM invoices
GROUP BY cycle_id
ORDER BY cycle_id DESC
