-- Per key and for all keys (key_name NULL) over [start, end): counts, latency of answered calls,
-- tokens and cost. Latency percentiles use successful attempts only: a 429 answers in milliseconds
-- and would make a throttled key look fast.
SELECT key_name,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome = 'ok') AS ok_calls,
       count(*) FILTER (WHERE outcome = 'rate_limited') AS rate_limited,
       count(*) FILTER (WHERE outcome NOT IN ('ok', 'rate_limited')) AS other_errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE outcome = 'ok') AS p95_ms,
       coalesce(sum(prompt_cache_hit_tokens), 0) AS prompt_cache_hit_tokens,
       coalesce(sum(prompt_cache_miss_tokens), 0) AS prompt_cache_miss_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cost_usd), 0) AS cost_usd
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s
GROUP BY GROUPING SETS ((key_name), ())
ORDER BY key_name NULLS LAST
