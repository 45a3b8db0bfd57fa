INSERT INTO cycles (cycle_id, period_start, period_end, status)
VALUES (%(cycle_id)s, %(period_start)s, %(period_end)s, 'running')
ON CONFLICT (cycle_id) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL
