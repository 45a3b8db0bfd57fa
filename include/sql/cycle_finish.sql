UPDATE cycles SET status = %(status)s, finished_at = now() WHERE cycle_id = %(cycle_id)s
