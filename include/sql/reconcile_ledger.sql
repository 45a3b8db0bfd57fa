-- Our ledger per UTC day x key x model, in the shape of DeepSeek's usage export. A request
-- DeepSeek bills is one it answered: HTTP 200 (a blank JSON answer is billed too).
SELECT (started_at AT TIME ZONE 'UTC')::date AS utc_date, key_name, model,
       count(*) FILTER (WHERE status_code = 200) AS request_count,
       coalesce(sum(prompt_cache_hit_tokens), 0) AS input_cache_hit_tokens,
       coalesce(sum(prompt_cache_miss_tokens), 0) AS input_cache_miss_tokens,
       coalesce(sum(completion_tokens), 0) AS output_tokens,
       coalesce(sum(cost_usd), 0) AS cost_usd
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s
GROUP BY 1, 2, 3
HAVING count(*) FILTER (WHERE status_code = 200) > 0
    OR sum(prompt_cache_hit_tokens + prompt_cache_miss_tokens + completion_tokens) > 0
ORDER BY 1, 2, 3
