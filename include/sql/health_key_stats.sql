-- Per key and for all keys (key_name NULL) over [start, end): the call counters
-- (include/sql/fragments/call_counters.sql) and the latency of answered calls. Latency percentiles
-- use successful attempts only: a 429 answers in milliseconds and would make a throttled key look fast.
SELECT key_name,
       @call_counters@,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p95_ms
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s
GROUP BY GROUPING SETS ((key_name), ())
ORDER BY key_name NULLS LAST
