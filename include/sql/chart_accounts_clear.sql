DELETE FROM company_accounts WHERE company_nit = %(company_nit)s
