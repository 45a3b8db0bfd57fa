-- The per-call counters of api_calls rows, as aggregate columns (one definition; composed into
-- queries by db.load_sql where they write @call_counters@). A failed call is any outcome other
-- than ok, rate_limited and in_flight; an in_flight row (its worker died before recording the answer)
-- is counted apart: its cost is unknown, not zero. peak_cost_usd: what was billed at peak prices (the
-- price table marks the version of a call made inside a peak window with ":peak").
count(*) AS calls,
count(*) FILTER (WHERE outcome = 'ok') AS ok_calls,
count(*) FILTER (WHERE outcome = 'rate_limited') AS rate_limited,
count(*) FILTER (WHERE outcome NOT IN ('ok', 'rate_limited', 'in_flight')) AS failed_calls,
count(*) FILTER (WHERE outcome = 'in_flight') AS in_flight_calls,
coalesce(sum(prompt_cache_hit_tokens), 0) AS prompt_cache_hit_tokens,
coalesce(sum(prompt_cache_miss_tokens), 0) AS prompt_cache_miss_tokens,
coalesce(sum(completion_tokens), 0) AS completion_tokens,
coalesce(sum(cost_usd), 0) AS cost_usd,
coalesce(sum(cost_usd) FILTER (WHERE right(price_version, 5) = ':peak'), 0) AS peak_cost_usd
