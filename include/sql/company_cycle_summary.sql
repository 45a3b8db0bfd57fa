SELECT %(company_nit)s::text AS company_nit, %(cycle_id)s::text AS cycle_id,
       (SELECT count(*) FROM invoices WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s) AS invoices,
       (SELECT count(*) FROM invoices WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
                                        AND status = 'classified') AS classified,
       (SELECT count(*) FROM invoices WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
                                        AND status = 'review') AS review,
       (SELECT count(*) FROM invoices WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
                                        AND status = 'pending') AS pending,
       (SELECT count(*) FROM invoices WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
                                        AND issue_cycle_id < cycle_id) AS from_earlier_periods,
       (SELECT count(*) FROM ingested_files WHERE company_nit = %(company_nit)s AND (cycle_id = %(cycle_id)s OR cycle_id IS NULL)
                                              AND outcome = 'quarantined') AS quarantined_files,
       (SELECT coalesce(sum(cost_usd), 0) FROM api_calls
         WHERE company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s) AS cost_usd
