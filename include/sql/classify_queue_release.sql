-- A batch its lane could not finish goes back to the queue for any lane (or this lane's next try).
UPDATE classify_queue SET status = 'queued', claimed_by = NULL, claimed_at = NULL
WHERE cycle_id = %(cycle_id)s AND position = %(position)s AND status = 'claimed'
