-- Per key of a cycle: the call counters (include/sql/fragments/call_counters.sql).
SELECT key_name AS member,
       @call_counters@
FROM api_calls WHERE cycle_id = %(cycle_id)s
GROUP BY key_name ORDER BY key_name
