-- A newer version replaces the current files of a company-cycle-format export (they stay on record).
UPDATE exports SET status = 'superseded', superseded_at = now(), superseded_by = %(version)s
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND format = %(format)s
  AND status IN ('current', 'outdated') AND version < %(version)s
