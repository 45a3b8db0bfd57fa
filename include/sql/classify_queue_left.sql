-- What is left of a cycle's queue, seen from one lane: batches still queued, and batches other lanes are
-- sending now (a claim older than the lease is a dead lane's, not in flight).
SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
       count(*) FILTER (WHERE status = 'claimed' AND claimed_by <> %(lane)s
                        AND claimed_at >= now() - make_interval(secs => %(lease_s)s)) AS elsewhere
FROM classify_queue
WHERE cycle_id = %(cycle_id)s AND status <> 'done'
