-- Completes an attempt's row once its answer is read: outcome, tokens, cost. Inserts it whole when the
-- write-ahead row is missing (its begin failed); a row already completed is left as it is (idempotent).
INSERT INTO api_calls (
    attempt_id, call_id, attempt_no, started_at, key_name, model, company_nit, cycle_id, purpose,
    outcome, status_code, error_class, latency_ms, prompt_cache_hit_tokens, prompt_cache_miss_tokens,
    completion_tokens, reasoning_tokens, cost_usd, price_version
) VALUES (
    %(attempt_id)s, %(call_id)s, %(attempt_no)s, %(started_at)s, %(key_name)s, %(model)s, %(company_nit)s,
    %(cycle_id)s, %(purpose)s, %(outcome)s, %(status_code)s, %(error_class)s, %(latency_ms)s,
    %(prompt_cache_hit_tokens)s, %(prompt_cache_miss_tokens)s, %(completion_tokens)s, %(reasoning_tokens)s,
    %(cost_usd)s, %(price_version)s
)
ON CONFLICT (attempt_id) DO UPDATE SET
    outcome = EXCLUDED.outcome, status_code = EXCLUDED.status_code, error_class = EXCLUDED.error_class,
    latency_ms = EXCLUDED.latency_ms, prompt_cache_hit_tokens = EXCLUDED.prompt_cache_hit_tokens,
    prompt_cache_miss_tokens = EXCLUDED.prompt_cache_miss_tokens, completion_tokens = EXCLUDED.completion_tokens,
    reasoning_tokens = EXCLUDED.reasoning_tokens, cost_usd = EXCLUDED.cost_usd,
    price_version = EXCLUDED.price_version
WHERE api_calls.outcome = 'in_flight'
