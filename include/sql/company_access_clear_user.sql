-- One user's own grants (not those of their roles).
DELETE FROM company_access WHERE principal_kind = 'user' AND principal = %(user_name)s
