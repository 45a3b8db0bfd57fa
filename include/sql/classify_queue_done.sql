UPDATE classify_queue SET status = 'done', done_at = now()
WHERE cycle_id = %(cycle_id)s AND position = %(position)s
