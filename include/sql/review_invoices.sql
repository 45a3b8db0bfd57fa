-- Invoices of a company and cycle (optionally one status or one invoice), with their lines, each line's
-- current classification (the model's proposal or the accountant's choice) and the audit trail (with the
-- line a repeated correction was applied from).
SELECT i.id, i.company_nit, i.cycle_id, coalesce(i.issue_cycle_id, i.cycle_id) AS issue_cycle_id, i.number, i.doc_type, i.issue_date, i.supplier_nit, i.supplier_name,
       i.currency, i.line_extension_amount, i.tax_inclusive_amount, i.payable_amount, i.status, i.status_reason,
       (SELECT json_agg(json_build_object(
                 'line_id', l.id, 'line_no', l.line_no, 'description', l.description,
                 'quantity', l.quantity::text, 'line_total', l.line_total::text,
                 'account', c.account_code, 'confidence', c.confidence::text, 'source', c.source)
               ORDER BY l.line_no)
          FROM invoice_lines l LEFT JOIN classifications c ON c.invoice_line_id = l.id
         WHERE l.invoice_id = i.id) AS lines,
       (SELECT json_agg(json_build_object(
                 'line_no', l.line_no, 'action', h.action, 'old_account', h.old_account,
                 'old_source', h.old_source, 'new_account', h.new_account, 'changed_by', h.changed_by,
                 'changed_at', h.changed_at, 'from_line_no', fl.line_no, 'from_invoice', fi.number)
               ORDER BY h.id)
          FROM classification_history h JOIN invoice_lines l ON l.id = h.invoice_line_id
          LEFT JOIN invoice_lines fl ON fl.id = h.applied_from_line_id
          LEFT JOIN invoices fi ON fi.id = fl.invoice_id
         WHERE h.invoice_id = i.id) AS history
FROM invoices i
WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s
  AND (%(status)s::text IS NULL OR i.status = %(status)s::text)
  AND (%(invoice_id)s::bigint IS NULL OR i.id = %(invoice_id)s::bigint)
ORDER BY i.issue_date, i.number, i.id
