-- Per company of a cycle: invoice outcomes, classification sources, and the EXACT cost of the
-- calls made for it (every call knows its company: one company per prompt). The companies are the
-- ones asked for plus any other with invoices or calls in the cycle, so re-running one company
-- still reports the whole quincena. Fairness: each company's first and last call, in seconds after the
-- cycle's first call (a large company must not keep the others waiting).
WITH inv AS (
    SELECT company_nit,
           count(*) AS invoices,
           count(*) FILTER (WHERE status = 'classified') AS classified,
           count(*) FILTER (WHERE status = 'review') AS review,
           count(*) FILTER (WHERE status = 'pending') AS pending
    FROM invoices WHERE cycle_id = %(cycle_id)s
    GROUP BY company_nit
), cls AS (
    SELECT company_nit,
           count(*) FILTER (WHERE source = 'memory') AS memory_lines,
           count(*) FILTER (WHERE source = 'model') AS model_lines
    FROM classifications WHERE cycle_id = %(cycle_id)s
    GROUP BY company_nit
), q AS (
    SELECT company_nit, count(*) AS quarantined_files
    FROM ingested_files WHERE outcome = 'quarantined' AND (cycle_id = %(cycle_id)s OR cycle_id IS NULL)
    GROUP BY company_nit
), calls AS (
    SELECT company_nit,
           @call_counters@,
           min(started_at) AS first_call_at, max(started_at) AS last_call_at
    FROM api_calls WHERE cycle_id = %(cycle_id)s
    GROUP BY company_nit
)
SELECT c.nit AS member, c.name,
       coalesce(inv.invoices, 0) AS invoices, coalesce(inv.classified, 0) AS classified,
       coalesce(inv.review, 0) AS review, coalesce(inv.pending, 0) AS pending,
       coalesce(q.quarantined_files, 0) AS quarantined_files,
       coalesce(cls.memory_lines, 0) AS memory_lines, coalesce(cls.model_lines, 0) AS model_lines,
       coalesce(calls.calls, 0) AS calls, coalesce(calls.ok_calls, 0) AS ok_calls,
       coalesce(calls.rate_limited, 0) AS rate_limited, coalesce(calls.failed_calls, 0) AS failed_calls,
       coalesce(calls.in_flight_calls, 0) AS in_flight_calls,
       coalesce(calls.prompt_cache_hit_tokens, 0) AS prompt_cache_hit_tokens,
       coalesce(calls.prompt_cache_miss_tokens, 0) AS prompt_cache_miss_tokens,
       coalesce(calls.completion_tokens, 0) AS completion_tokens,
       coalesce(calls.cost_usd, 0) AS cost_usd, coalesce(calls.peak_cost_usd, 0) AS peak_cost_usd,
       round(extract(epoch FROM calls.first_call_at - min(calls.first_call_at) OVER ()))::integer AS first_call_s,
       round(extract(epoch FROM calls.last_call_at - min(calls.first_call_at) OVER ()))::integer AS last_call_s
FROM companies c
LEFT JOIN inv ON inv.company_nit = c.nit
LEFT JOIN cls ON cls.company_nit = c.nit
LEFT JOIN q ON q.company_nit = c.nit
LEFT JOIN calls ON calls.company_nit = c.nit
WHERE c.nit = ANY(%(companies)s) OR inv.company_nit IS NOT NULL OR calls.company_nit IS NOT NULL
ORDER BY c.nit
