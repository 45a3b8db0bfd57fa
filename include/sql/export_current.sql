-- The current (not superseded) files of a company-cycle-format export, and the latest version number.
SELECT e.*, (SELECT max(x.version) FROM exports x
              WHERE x.company_nit = e.company_nit AND x.cycle_id = e.cycle_id AND x.format = e.format) AS max_version
FROM exports e
WHERE e.company_nit = %(company_nit)s AND e.cycle_id = %(cycle_id)s AND e.format = %(format)s
  AND e.status IN ('current', 'outdated')
ORDER BY e.part
