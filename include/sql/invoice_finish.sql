-- Only a pending invoice moves: an invoice already classified or sent to review stays as it is.
UPDATE invoices
SET status = %(status)s, status_reason = %(reason)s, updated_at = now()
WHERE id = %(invoice_id)s AND status = 'pending'
