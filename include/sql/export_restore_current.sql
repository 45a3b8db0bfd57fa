-- Re-approved books that did not change: their outdated files are current again.
UPDATE exports SET status = 'current'
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND format = %(format)s AND status = 'outdated'
  AND version = %(version)s
