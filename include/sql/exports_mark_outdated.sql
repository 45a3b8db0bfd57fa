-- A reopened company-cycle: its current export files no longer match the books.
UPDATE exports SET status = 'outdated'
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND status = 'current'
RETURNING format, version, file_name
