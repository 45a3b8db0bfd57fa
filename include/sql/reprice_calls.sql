-- The ledger rows a repricing looks at: every attempt from the given instant (to an optional end)
-- whose usage is known. An in_flight row has no tokens yet: there is nothing to price.
SELECT id, started_at, model, cycle_id, prompt_cache_hit_tokens, prompt_cache_miss_tokens, completion_tokens,
       cost_usd, price_version
FROM api_calls
WHERE started_at >= %(start)s
  AND (%(end)s::timestamptz IS NULL OR started_at < %(end)s::timestamptz)
  AND outcome <> 'in_flight'
ORDER BY id
