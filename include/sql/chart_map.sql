-- A company's map from generic PUC sub-accounts to its own accounts.
SELECT puc_code, company_code, file_name, imported_at
FROM company_account_map
WHERE company_nit = %(company_nit)s
ORDER BY puc_code
