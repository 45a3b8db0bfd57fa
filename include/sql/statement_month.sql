-- A month's ledger per company x quincena, by the calls' UTC days (the days DeepSeek bills), with
-- the same counters as cycle_costs (@call_counters@) over the same api_calls rows; and the invoices
-- each of those quincenas (or the month's own quincenas) processed for the company. Calls filed under
-- no company come as company_nit NULL, so the month's total is the whole ledger.
WITH calls AS (
    SELECT company_nit, cycle_id,
           @call_counters@
    FROM api_calls
    WHERE started_at >= %(start)s AND started_at < %(end)s
    GROUP BY company_nit, cycle_id
), cycles AS (
    SELECT DISTINCT cycle_id FROM calls WHERE cycle_id IS NOT NULL
), inv AS (
    SELECT company_nit, cycle_id, count(*) AS invoices
    FROM invoices
    WHERE cycle_id IN (SELECT cycle_id FROM cycles) OR cycle_id = ANY(%(month_cycles)s)
    GROUP BY company_nit, cycle_id
)
SELECT coalesce(calls.company_nit, inv.company_nit) AS company_nit, c.name AS company_name, c.dv AS company_dv,
       coalesce(calls.cycle_id, inv.cycle_id) AS cycle_id,
       coalesce(inv.invoices, 0) AS invoices,
       coalesce(calls.calls, 0) AS calls, coalesce(calls.ok_calls, 0) AS ok_calls,
       coalesce(calls.prompt_cache_hit_tokens, 0) AS prompt_cache_hit_tokens,
       coalesce(calls.prompt_cache_miss_tokens, 0) AS prompt_cache_miss_tokens,
       coalesce(calls.completion_tokens, 0) AS completion_tokens,
       coalesce(calls.in_flight_calls, 0) AS in_flight_calls,
       coalesce(calls.cost_usd, 0) AS cost_usd
FROM calls
FULL JOIN inv ON inv.company_nit = calls.company_nit AND inv.cycle_id = calls.cycle_id
LEFT JOIN companies c ON c.nit = coalesce(calls.company_nit, inv.company_nit)
ORDER BY 1 NULLS LAST, 4 NULLS LAST
