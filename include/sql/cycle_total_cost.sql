SELECT count(*) AS calls, coalesce(sum(cost_usd), 0) AS cost_usd FROM api_calls WHERE cycle_id = %(cycle_id)s
