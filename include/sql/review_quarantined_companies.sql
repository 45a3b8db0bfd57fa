-- The cycle report's quarantined files of these companies that this cycle's run met (or a manual
-- `quincena ingest`), with their reasons.
SELECT company_nit, path, reason_code, reason
FROM ingested_files
WHERE company_nit = ANY(%(companies)s) AND outcome = 'quarantined' AND (cycle_id = %(cycle_id)s OR cycle_id IS NULL)
ORDER BY company_nit, path
