-- Files of a company's inbox that did not become invoices, and why.
SELECT id, path, reason_code, reason, size_bytes, ingested_at
FROM ingested_files
WHERE company_nit = %(company_nit)s AND outcome = 'quarantined'
ORDER BY ingested_at, id
