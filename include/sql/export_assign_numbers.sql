-- Give every exportable invoice of the company-cycle without a voucher number the next numbers of its
-- company and voucher type, in issue order. Callers hold export_lock first (numbers are per company).
INSERT INTO voucher_numbers (company_nit, voucher_type, invoice_id, number)
SELECT %(company_nit)s, %(voucher_type)s, i.id,
       greatest((SELECT max(v.number) FROM voucher_numbers v
                  WHERE v.company_nit = %(company_nit)s AND v.voucher_type = %(voucher_type)s),
                %(first_number)s - 1)
       + row_number() OVER (ORDER BY i.issue_date, i.id)
FROM invoices i
WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'classified'
  AND EXISTS (SELECT 1 FROM journal_lines j WHERE j.invoice_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM voucher_numbers v
                   WHERE v.company_nit = %(company_nit)s AND v.voucher_type = %(voucher_type)s
                     AND v.invoice_id = i.id)
ORDER BY i.issue_date, i.id
ON CONFLICT (company_nit, voucher_type, invoice_id) DO NOTHING
