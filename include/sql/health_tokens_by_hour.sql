-- Billed tokens per model and UTC hour: enough to price the week at peak and off-peak rates
-- (DeepSeek's peak windows start and end on the hour), with what the ledger says they cost as run.
SELECT model, date_trunc('hour', started_at AT TIME ZONE 'UTC') AS hour_utc,
       coalesce(sum(prompt_cache_hit_tokens), 0) AS prompt_cache_hit_tokens,
       coalesce(sum(prompt_cache_miss_tokens), 0) AS prompt_cache_miss_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cost_usd), 0) AS cost_usd
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s
  AND prompt_cache_hit_tokens + prompt_cache_miss_tokens + completion_tokens > 0
GROUP BY 1, 2 ORDER BY 1, 2
