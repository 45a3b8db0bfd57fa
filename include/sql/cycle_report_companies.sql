-- The companies a cycle's report covers: those its cost aggregation recorded.
SELECT member FROM cycle_costs WHERE cycle_id = %(cycle_id)s AND dimension = 'company' ORDER BY member
