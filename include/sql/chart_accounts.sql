-- A company's chart of accounts, by code.
SELECT code, name, parent, active, movements
FROM company_accounts
WHERE company_nit = %(company_nit)s
ORDER BY code
