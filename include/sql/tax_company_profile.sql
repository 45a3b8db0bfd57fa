-- The buyer's tax profile (companies registry).
SELECT nit, withholding_agent, gran_contribuyente, reteiva_agent, autorretenedor, regimen, ica_city, iva_deductible
FROM companies WHERE nit = %(nit)s
