INSERT INTO cycle_costs (cycle_id, dimension, member, invoices, classified, review, pending,
    quarantined_files, memory_lines, model_lines, calls, ok_calls, rate_limited, failed_calls, in_flight_calls,
    prompt_cache_hit_tokens, prompt_cache_miss_tokens, completion_tokens, cost_usd,
    proportional_cost_usd, avg_cost_per_invoice_usd, peak_cost_usd, computed_at)
VALUES (%(cycle_id)s, %(dimension)s, %(member)s, %(invoices)s, %(classified)s, %(review)s, %(pending)s,
    %(quarantined_files)s, %(memory_lines)s, %(model_lines)s, %(calls)s, %(ok_calls)s, %(rate_limited)s,
    %(failed_calls)s, %(in_flight_calls)s, %(prompt_cache_hit_tokens)s, %(prompt_cache_miss_tokens)s,
    %(completion_tokens)s, %(cost_usd)s, %(proportional_cost_usd)s, %(avg_cost_per_invoice_usd)s, %(peak_cost_usd)s,
    now())
ON CONFLICT (cycle_id, dimension, member) DO UPDATE SET
    invoices = EXCLUDED.invoices, classified = EXCLUDED.classified, review = EXCLUDED.review,
    pending = EXCLUDED.pending, quarantined_files = EXCLUDED.quarantined_files,
    memory_lines = EXCLUDED.memory_lines, model_lines = EXCLUDED.model_lines, calls = EXCLUDED.calls,
    ok_calls = EXCLUDED.ok_calls, rate_limited = EXCLUDED.rate_limited, failed_calls = EXCLUDED.failed_calls,
    in_flight_calls = EXCLUDED.in_flight_calls,
    prompt_cache_hit_tokens = EXCLUDED.prompt_cache_hit_tokens,
    prompt_cache_miss_tokens = EXCLUDED.prompt_cache_miss_tokens,
    completion_tokens = EXCLUDED.completion_tokens, cost_usd = EXCLUDED.cost_usd,
    proportional_cost_usd = EXCLUDED.proportional_cost_usd,
    avg_cost_per_invoice_usd = EXCLUDED.avg_cost_per_invoice_usd,
    peak_cost_usd = EXCLUDED.peak_cost_usd, computed_at = now()
