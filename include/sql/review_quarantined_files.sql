-- Files of a company's inbox that did not become invoices, and why: those this cycle's run met (or a
-- manual `quincena ingest`, which belongs to no cycle).
SELECT id, path, reason_code, reason, size_bytes, ingested_at
FROM ingested_files
WHERE company_nit = %(company_nit)s AND outcome = 'quarantined' AND (cycle_id = %(cycle_id)s OR cycle_id IS NULL)
ORDER BY ingested_at, id
