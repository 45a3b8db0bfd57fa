-- Every grant, with the company's name (NULL company: every company).
SELECT a.principal_kind, a.principal, a.company_nit, c.name AS company_name, a.granted_at
FROM company_access a
LEFT JOIN companies c ON c.nit = a.company_nit
ORDER BY a.principal_kind DESC, a.principal, a.company_nit NULLS FIRST
