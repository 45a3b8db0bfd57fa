-- What this company's inbox already holds: the first row per content, and every (content, path).
SELECT sha256, path, outcome, reason_code, reason FROM ingested_files
WHERE company_nit = %(company_nit)s
ORDER BY id
