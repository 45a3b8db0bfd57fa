-- An invoice's proposed entry, removed before it is rebuilt from the current classifications.
DELETE FROM journal_lines WHERE invoice_id = %(invoice_id)s
