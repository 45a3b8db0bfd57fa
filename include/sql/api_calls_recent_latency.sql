-- The median answer time of the last two weeks' answered calls (sizes classify_batch units).
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median_ms
FROM api_calls
WHERE outcome = 'ok' AND started_at > now() - interval '14 days'
