-- One writer of a cycle's report at a time: several books runs of the cycle refresh it at once, and the
-- last to write must have read the latest state (held for the caller's transaction).
SELECT pg_advisory_xact_lock(hashtext('quincena-report:' || %(cycle_id)s))
