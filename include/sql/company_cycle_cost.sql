SELECT coalesce(sum(cost_usd), 0) AS cost_usd, count(*) AS calls
FROM api_calls WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
