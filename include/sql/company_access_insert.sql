INSERT INTO company_access (principal_kind, principal, company_nit)
VALUES (%(principal_kind)s, %(principal)s, %(company_nit)s)
ON CONFLICT DO NOTHING
