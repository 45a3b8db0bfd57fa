-- The accountant approves an invoice in review: it becomes classified (its entry is then rebuilt).
UPDATE invoices SET status = 'classified', status_reason = NULL, updated_at = now()
WHERE id = %(invoice_id)s AND status = 'review'
