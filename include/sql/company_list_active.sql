SELECT nit, dv, name, monthly_budget_usd FROM companies WHERE active ORDER BY nit
