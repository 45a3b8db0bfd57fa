-- The ledger figures of one evaluation run (its calls carry cycle_id = the run id, purpose 'eval').
SELECT
    @call_counters@,
    count(DISTINCT call_id) AS logical_calls,
    coalesce(round(avg(latency_ms)), 0) AS latency_mean_ms,
    coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms), 0) AS latency_p50_ms,
    coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms), 0) AS latency_p95_ms,
    coalesce(string_agg(DISTINCT model, ',' ORDER BY model), '') AS models
FROM api_calls
WHERE cycle_id = %(run_id)s AND purpose = 'eval'
