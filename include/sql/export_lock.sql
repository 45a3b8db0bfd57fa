-- One numbering/recording export of a company at a time (released at the end of the transaction).
SELECT pg_advisory_xact_lock(hashtext('quincena-export:' || %(company_nit)s))
