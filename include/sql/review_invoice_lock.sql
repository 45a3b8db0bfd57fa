-- The invoice an accountant acts on, locked for the action, only if it is this company's in this cycle.
SELECT id, company_nit, cycle_id, status, supplier_nit, number
FROM invoices
WHERE id = %(invoice_id)s AND company_nit = %(company_nit)s AND cycle_id = %(cycle_id)s
FOR UPDATE
