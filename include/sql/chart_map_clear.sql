DELETE FROM company_account_map WHERE company_nit = %(company_nit)s
