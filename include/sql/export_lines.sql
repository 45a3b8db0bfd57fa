-- The journal lines of the company-cycle's exportable invoices (classified, with an entry), with their
-- voucher number, the supplier and, on tax lines, the base: what every export template draws from. A credit
-- or debit note names the voucher of the invoice it amends (original_voucher), wherever that was exported.
SELECT i.id AS invoice_id, i.number AS invoice_number, i.cufe, i.doc_type, i.issue_date, i.due_date,
       i.currency, i.supplier_nit, i.supplier_dv, i.supplier_name, i.company_nit, c.name AS company_name, i.cycle_id,
       v.voucher_type, v.number AS voucher_number, o.number AS original_voucher, o.invoice_number AS original_number,
       j.seq, j.account_code AS account, j.debit, j.credit, j.description, j.rate, j.concept,
       coalesce(j.tax, CASE WHEN j.account_code = '240810' THEN 'iva' END) AS tax,
       coalesce(j.base, CASE WHEN j.account_code = '240810' THEN
           (SELECT sum(t.taxable_amount) FROM invoice_taxes t
             WHERE t.invoice_id = i.id AND t.kind = 'tax' AND t.scheme_id = '01') END) AS base
FROM invoices i
JOIN companies c ON c.nit = i.company_nit
JOIN voucher_numbers v ON v.invoice_id = i.id AND v.company_nit = i.company_nit
                      AND v.voucher_type = %(voucher_type)s
JOIN journal_lines j ON j.invoice_id = i.id
LEFT JOIN LATERAL (
    SELECT ov.number, oi.number AS invoice_number FROM invoices oi
    JOIN voucher_numbers ov ON ov.invoice_id = oi.id AND ov.voucher_type = %(voucher_type)s
    WHERE i.billing_reference IS NOT NULL AND oi.company_nit = i.company_nit AND oi.cufe = i.billing_reference
) o ON true
WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s AND i.status = 'classified'
ORDER BY v.number, j.seq
