INSERT INTO companies (nit, dv, name, active, monthly_budget_usd)
VALUES (%(nit)s, %(dv)s, %(name)s, %(active)s, %(monthly_budget_usd)s)
ON CONFLICT (nit) DO UPDATE
SET dv = EXCLUDED.dv, name = EXCLUDED.name, active = EXCLUDED.active,
    monthly_budget_usd = EXCLUDED.monthly_budget_usd, updated_at = now()
WHERE (companies.dv, companies.name, companies.active, companies.monthly_budget_usd)
      IS DISTINCT FROM (EXCLUDED.dv, EXCLUDED.name, EXCLUDED.active, EXCLUDED.monthly_budget_usd)
