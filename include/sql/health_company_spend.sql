-- Cost per company in the week and month to date (both end at %(end)s; the week may start in the
-- previous month). Calls filed under no company come back as company_nit NULL, so the firm total
-- never loses them.
SELECT c.company_nit, co.name, co.monthly_budget_usd,
       coalesce(sum(c.cost_usd) FILTER (WHERE c.started_at >= %(week_start)s), 0) AS week_cost_usd,
       coalesce(sum(c.cost_usd) FILTER (WHERE c.started_at >= %(month_start)s), 0) AS mtd_cost_usd
FROM api_calls c
LEFT JOIN companies co ON co.nit = c.company_nit
WHERE c.started_at >= least(%(month_start)s::timestamptz, %(week_start)s::timestamptz) AND c.started_at < %(end)s
GROUP BY c.company_nit, co.name, co.monthly_budget_usd
ORDER BY c.company_nit NULLS LAST
