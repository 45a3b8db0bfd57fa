-- The invoice a credit note credits (by CUFE), with the withholding lines of its proposed entry.
SELECT i.number, i.line_extension_amount::text AS line_extension_amount,
       (SELECT json_agg(json_build_object('tax', j.tax, 'concept', j.concept, 'account', j.account_code,
                                          'base', j.base::text, 'rate', j.rate::text, 'amount', j.credit::text)
                        ORDER BY j.seq)
          FROM journal_lines j WHERE j.invoice_id = i.id AND j.tax IS NOT NULL) AS withholdings,
       EXISTS (SELECT 1 FROM journal_lines j WHERE j.invoice_id = i.id) AS posted
FROM invoices i
WHERE i.company_nit = %(company_nit)s AND i.cufe = %(cufe)s AND i.doc_type <> 'credit_note'
