-- What a lane had claimed when its previous try died: its retry sends these first.
SELECT position, company_nit, wave, invoice_ids
FROM classify_queue
WHERE cycle_id = %(cycle_id)s AND status = 'claimed' AND claimed_by = %(lane)s
ORDER BY position
