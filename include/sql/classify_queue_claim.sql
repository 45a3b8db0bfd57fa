-- The next batch for a lane, in fair order: queued, or a claim older than the lease (its lane died for
-- good). Wave 2 only once its representatives are decided (what they teach the supplier memory spares
-- its requests), or after the lesson wait. SKIP LOCKED: two lanes never claim the same batch. Ordered by
-- position alone, so the scan walks classify_queue_open and stops at the first ready batch.
WITH next AS (
    SELECT q.cycle_id, q.position
    FROM classify_queue q
    WHERE q.cycle_id = %(cycle_id)s
      AND q.status <> 'done'
      AND (q.status = 'queued' OR q.claimed_at < now() - make_interval(secs => %(lease_s)s))
      AND (q.wave = 1
           OR q.planned_at <= now() - make_interval(secs => %(lesson_wait_s)s)
           OR NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = ANY(q.waits_for) AND i.status = 'pending'))
    ORDER BY q.position
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE classify_queue q
SET status = 'claimed', claimed_by = %(lane)s, claimed_at = now()
FROM next
WHERE q.cycle_id = next.cycle_id AND q.position = next.position
RETURNING q.position, q.company_nit, q.wave, q.invoice_ids
