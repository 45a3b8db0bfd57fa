-- The files of a cycle's exports (current ones first), for the cycle report.
SELECT company_nit, format, version, part, parts, file_name, path, vouchers, lines, status, created_at, created_by
FROM exports
WHERE cycle_id = %(cycle_id)s
ORDER BY company_nit, format, status, version DESC, part
