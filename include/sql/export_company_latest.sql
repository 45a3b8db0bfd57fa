-- The latest export version of a company-cycle per format (current or outdated), with its voucher range
-- and the digests of the vouchers it carried.
SELECT DISTINCT ON (format) format, version, status, created_at,
       (SELECT min(first_voucher) FROM exports x WHERE x.company_nit = e.company_nit AND x.cycle_id = e.cycle_id
                                                  AND x.format = e.format AND x.version = e.version) AS first_voucher,
       (SELECT max(last_voucher) FROM exports x WHERE x.company_nit = e.company_nit AND x.cycle_id = e.cycle_id
                                                 AND x.format = e.format AND x.version = e.version) AS last_voucher
FROM exports e
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND status IN ('current', 'outdated')
ORDER BY format, version DESC
