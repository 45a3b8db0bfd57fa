-- A cycle's companies (every active one, any other with invoices in it; or just the one asked for) with their
-- worklist counts and the approval step's decision; while the cycle classifies, its batches in the queue and how many are done.
SELECT c.nit, c.name,
       count(i.id) AS invoices,
       count(i.id) FILTER (WHERE i.status = 'review') AS review,
       count(i.id) FILTER (WHERE i.status = 'classified') AS classified,
       count(i.id) FILTER (WHERE i.status = 'pending') AS pending,
       (SELECT count(*) FROM ingested_files f
         WHERE f.company_nit = c.nit AND f.outcome = 'quarantined'
           AND (f.cycle_id = %(cycle_id)s OR f.cycle_id IS NULL)) AS quarantined_files,
       (SELECT count(*) FROM classify_queue q WHERE q.cycle_id = %(cycle_id)s AND q.company_nit = c.nit) AS batches,
       (SELECT count(*) FROM classify_queue q
         WHERE q.cycle_id = %(cycle_id)s AND q.company_nit = c.nit AND q.status = 'done') AS batches_done,
       a.decision, a.decided_by, a.decided_at, a.comment
FROM companies c
LEFT JOIN invoices i ON i.company_nit = c.nit AND i.cycle_id = %(cycle_id)s
LEFT JOIN company_approvals a ON a.company_nit = c.nit AND a.cycle_id = %(cycle_id)s
WHERE (c.active OR i.id IS NOT NULL) AND (%(company_nit)s::text IS NULL OR c.nit = %(company_nit)s::text)
GROUP BY c.nit, c.name, a.decision, a.decided_by, a.decided_at, a.comment
ORDER BY c.nit
