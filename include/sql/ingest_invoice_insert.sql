-- The same CUFE from another file is a duplicate (or a conflict: the caller compares content_sha256):
-- no row back, nothing changed. A document that failed a sanity check starts in review. cycle_id: the
-- quincena whose books carry it (see migration 090); issue_cycle_id: the quincena of its issue date.
INSERT INTO invoices (
    company_nit, cufe, doc_type, number, invoice_type_code, issue_date, due_date, currency, exchange_rate,
    supplier_nit, supplier_dv, supplier_name, customer_nit,
    line_extension_amount, tax_exclusive_amount, tax_inclusive_amount, allowance_total_amount,
    charge_total_amount, prepaid_amount, payable_amount, billing_reference, cycle_id, issue_cycle_id,
    source_file_id, source_file, content_sha256, status, status_reason
)
VALUES (
    %(company_nit)s, %(cufe)s, %(doc_type)s, %(number)s, %(invoice_type_code)s, %(issue_date)s, %(due_date)s,
    %(currency)s, %(exchange_rate)s, %(supplier_nit)s, %(supplier_dv)s, %(supplier_name)s, %(customer_nit)s,
    %(line_extension_amount)s, %(tax_exclusive_amount)s, %(tax_inclusive_amount)s, %(allowance_total_amount)s,
    %(charge_total_amount)s, %(prepaid_amount)s, %(payable_amount)s, %(billing_reference)s, %(cycle_id)s, %(issue_cycle_id)s,
    %(source_file_id)s, %(source_file)s, %(content_sha256)s, %(status)s, %(status_reason)s
)
ON CONFLICT (company_nit, cufe) DO NOTHING
RETURNING id
