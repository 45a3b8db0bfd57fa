INSERT INTO company_accounts (company_nit, code, name, parent, active, movements)
VALUES (%(company_nit)s, %(code)s, %(name)s, %(parent)s, %(active)s, %(movements)s)
