-- The company's latest chart import (what the accounts now in company_accounts came from).
SELECT id, program, file_name, digest, accounts, added, removed, changed, imported_by, imported_at
FROM chart_imports
WHERE company_nit = %(company_nit)s
ORDER BY id DESC
LIMIT 1
