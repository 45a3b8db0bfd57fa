INSERT INTO company_account_map (company_nit, puc_code, company_code, file_name)
VALUES (%(company_nit)s, %(puc_code)s, %(company_code)s, %(file_name)s)
