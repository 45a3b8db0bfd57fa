UPDATE ingested_files SET outcome = %(outcome)s, reason_code = %(reason_code)s, reason = %(reason)s
WHERE id = %(id)s
