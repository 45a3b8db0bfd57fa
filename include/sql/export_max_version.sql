SELECT coalesce(max(version), 0) AS version FROM exports
WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s AND format = %(format)s
