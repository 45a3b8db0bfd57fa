-- A newer request for the same company-cycle replaces the open ones (their books are no longer current).
UPDATE approval_requests SET closed_at = now(), outcome = 'superseded'
WHERE cycle_id = %(cycle_id)s AND company_nit = %(company_nit)s AND closed_at IS NULL
  AND request_id <> %(request_id)s
