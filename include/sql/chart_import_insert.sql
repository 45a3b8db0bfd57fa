INSERT INTO chart_imports (company_nit, program, file_name, digest, accounts, added, removed, changed, changes,
                           imported_by)
VALUES (%(company_nit)s, %(program)s, %(file_name)s, %(digest)s, %(accounts)s, %(added)s, %(removed)s,
        %(changed)s, %(changes)s, %(imported_by)s)
RETURNING id, imported_at
