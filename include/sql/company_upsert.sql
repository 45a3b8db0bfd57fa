INSERT INTO companies (nit, dv, name, active, monthly_budget_usd, withholding_agent, gran_contribuyente,
                       reteiva_agent, autorretenedor, iva_deductible, regimen, ica_city)
VALUES (%(nit)s, %(dv)s, %(name)s, %(active)s, %(monthly_budget_usd)s, %(withholding_agent)s,
        %(gran_contribuyente)s, %(reteiva_agent)s, %(autorretenedor)s, %(iva_deductible)s, %(regimen)s,
        %(ica_city)s)
ON CONFLICT (nit) DO UPDATE
SET dv = EXCLUDED.dv, name = EXCLUDED.name, active = EXCLUDED.active,
    monthly_budget_usd = EXCLUDED.monthly_budget_usd, withholding_agent = EXCLUDED.withholding_agent,
    gran_contribuyente = EXCLUDED.gran_contribuyente, reteiva_agent = EXCLUDED.reteiva_agent,
    autorretenedor = EXCLUDED.autorretenedor, iva_deductible = EXCLUDED.iva_deductible,
    regimen = EXCLUDED.regimen, ica_city = EXCLUDED.ica_city, updated_at = now()
WHERE (companies.dv, companies.name, companies.active, companies.monthly_budget_usd, companies.withholding_agent,
       companies.gran_contribuyente, companies.reteiva_agent, companies.autorretenedor, companies.iva_deductible,
       companies.regimen, companies.ica_city)
      IS DISTINCT FROM (EXCLUDED.dv, EXCLUDED.name, EXCLUDED.active, EXCLUDED.monthly_budget_usd,
                        EXCLUDED.withholding_agent, EXCLUDED.gran_contribuyente, EXCLUDED.reteiva_agent,
                        EXCLUDED.autorretenedor, EXCLUDED.iva_deductible, EXCLUDED.regimen, EXCLUDED.ica_city)
