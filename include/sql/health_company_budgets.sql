SELECT nit, name, monthly_budget_usd FROM companies WHERE active AND monthly_budget_usd IS NOT NULL ORDER BY nit
