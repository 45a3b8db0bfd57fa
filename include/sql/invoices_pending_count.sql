-- How many of these invoices are still waiting for classification (a wave-2 batch's representatives).
SELECT count(*) AS n FROM invoices WHERE id = ANY(%(invoice_ids)s) AND status = 'pending'
