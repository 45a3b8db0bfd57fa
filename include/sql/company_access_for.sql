-- The grants that apply to one user: their own and those of any of their roles (lower-case).
SELECT DISTINCT company_nit
FROM company_access
WHERE (principal_kind = 'user' AND principal = %(user_name)s)
   OR (principal_kind = 'role' AND principal = ANY(%(roles)s))
