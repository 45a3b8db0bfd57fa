UPDATE invoices SET status = 'review', status_reason = %(reason)s, updated_at = now()
WHERE id = %(invoice_id)s AND status = 'classified'
