INSERT INTO classify_queue (cycle_id, position, company_nit, wave, invoice_ids, waits_for, planned_at)
VALUES (%(cycle_id)s, %(position)s, %(company_nit)s, %(wave)s, %(invoice_ids)s, %(waits_for)s, %(planned_at)s)
