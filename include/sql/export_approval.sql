-- A company's sign-off for a quincena, and how many of its invoices of the quincena are not exportable.
SELECT a.decision, a.decided_by, a.decided_at,
       (SELECT count(*) FROM invoices i
         WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'review') AS in_review,
       (SELECT count(*) FROM invoices i
         WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'pending') AS pending,
       (SELECT count(*) FROM invoices i
         WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'classified'
           AND NOT EXISTS (SELECT 1 FROM journal_lines j WHERE j.invoice_id = i.id)) AS without_entry
FROM (SELECT 1) one
LEFT JOIN company_approvals a ON a.cycle_id = %(cycle_id)s AND a.company_nit = %(company_nit)s
