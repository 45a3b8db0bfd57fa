-- Quincenas (other than the run's) whose books a run changed for a company: invoices it classified that
-- are carried by an earlier quincena (left pending by that quincena's run).
SELECT DISTINCT i.cycle_id
FROM classifications c JOIN invoices i ON i.id = c.invoice_id
WHERE c.cycle_id = %(cycle_id)s AND c.company_nit = %(company_nit)s AND i.cycle_id <> %(cycle_id)s
ORDER BY i.cycle_id
