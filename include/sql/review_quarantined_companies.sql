-- The cycle report's quarantined files of these companies, with their reasons.
SELECT company_nit, path, reason_code, reason
FROM ingested_files
WHERE company_nit = ANY(%(companies)s) AND outcome = 'quarantined'
ORDER BY company_nit, path
