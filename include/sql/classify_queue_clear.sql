-- A cycle's queue is planned afresh by each `schedule` (only pending invoices are planned).
DELETE FROM classify_queue WHERE cycle_id = %(cycle_id)s
