-- One import of a company's chart (or of its map) at a time.
SELECT pg_advisory_xact_lock(hashtext('company_chart'), hashtext(%(company_nit)s))
