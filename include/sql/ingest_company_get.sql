SELECT nit, dv, name, active FROM companies WHERE nit = %(nit)s
