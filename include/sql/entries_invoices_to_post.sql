-- Classified invoices of a company that have no proposed entry yet, with what the entry needs:
-- lines (classified account, base, own tax), taxes and stated withholdings, the supplier's profile.
-- invoice_id: only that invoice (the review rebuilds one entry), NULL: all of the company's.
SELECT i.id, i.number, i.doc_type, i.issue_date, i.billing_reference, i.supplier_nit, i.supplier_name,
       i.line_extension_amount, i.tax_inclusive_amount, i.allowance_total_amount, i.charge_total_amount,
       s.person_type AS supplier_person_type, s.responsibilities AS supplier_responsibilities,
       s.city_code AS supplier_city, s.declarante AS supplier_declarante,
       (SELECT json_agg(json_build_object('account', c.account_code, 'amount', l.line_total::text,
                                          'tax_amount', l.tax_amount::text, 'iva_base', l.iva_base::text)
                        ORDER BY l.line_no)
          FROM invoice_lines l JOIN classifications c ON c.invoice_line_id = l.id
         WHERE l.invoice_id = i.id) AS lines,
       (SELECT json_agg(json_build_object('kind', t.kind, 'scheme_id', t.scheme_id,
                                          'amount', t.amount::text) ORDER BY t.kind, t.seq)
          FROM invoice_taxes t WHERE t.invoice_id = i.id) AS taxes
FROM invoices i
LEFT JOIN suppliers s ON s.nit = i.supplier_nit
WHERE i.company_nit = %(company_nit)s
  AND i.status = 'classified'
  AND NOT EXISTS (SELECT 1 FROM journal_lines j WHERE j.invoice_id = i.id)
  AND (%(invoice_id)s::bigint IS NULL OR i.id = %(invoice_id)s::bigint)
ORDER BY i.issue_date, i.id
