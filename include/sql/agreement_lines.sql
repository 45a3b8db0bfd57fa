-- The accountant's verdict on each reviewed line of the given cycles: the FIRST kept/changed/filled
-- action on the line (later actions revise the accountant's own choice, not the model's). Lines of an
-- approved invoice that were never touched count as kept. Only model proposals and filled lines
-- (the model proposed nothing) are returned; supplier-memory proposals are not the model's.
WITH first_action AS (
    SELECT DISTINCT ON (h.invoice_line_id)
           h.invoice_line_id, h.company_nit, h.cycle_id, h.action, h.old_account, h.old_source, h.new_account
    FROM classification_history h
    WHERE h.action IN ('kept', 'changed', 'filled') AND h.cycle_id = ANY(%(cycles)s)
    ORDER BY h.invoice_line_id, h.changed_at, h.id
),
approved_untouched AS (
    SELECT l.id AS invoice_line_id, a.company_nit, a.cycle_id, 'kept' AS action,
           c.account_code AS old_account, c.source AS old_source, c.account_code AS new_account
    FROM (SELECT DISTINCT invoice_id, company_nit, cycle_id FROM classification_history
          WHERE action = 'approved_invoice' AND cycle_id = ANY(%(cycles)s)) a
    JOIN invoice_lines l ON l.invoice_id = a.invoice_id
    JOIN classifications c ON c.invoice_line_id = l.id
    WHERE NOT EXISTS (SELECT 1 FROM first_action f WHERE f.invoice_line_id = l.id)
),
verdicts AS (
    SELECT * FROM first_action
    UNION ALL
    SELECT * FROM approved_untouched
)
SELECT v.cycle_id, v.company_nit, co.name AS company_name, v.invoice_line_id, v.action,
       v.old_account, v.old_source, v.new_account, c.model, c.prompt_version
FROM verdicts v
LEFT JOIN classifications c ON c.invoice_line_id = v.invoice_line_id
LEFT JOIN companies co ON co.nit = v.company_nit
WHERE v.old_source = 'model' OR v.old_account IS NULL OR v.action = 'filled'
ORDER BY v.cycle_id, v.company_nit, v.invoice_line_id
