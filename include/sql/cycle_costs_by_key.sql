SELECT key_name AS member,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome = 'ok') AS ok_calls,
       count(*) FILTER (WHERE outcome = 'rate_limited') AS rate_limited,
       count(*) FILTER (WHERE outcome NOT IN ('ok', 'rate_limited')) AS failed_calls,
       coalesce(sum(prompt_cache_hit_tokens), 0) AS prompt_cache_hit_tokens,
       coalesce(sum(prompt_cache_miss_tokens), 0) AS prompt_cache_miss_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(cost_usd), 0) AS cost_usd
FROM api_calls WHERE cycle_id = %(cycle_id)s
GROUP BY key_name ORDER BY key_name
