-- The cycles that already have stored figures, and the companies each was reported with.
SELECT cycle_id, array_agg(member ORDER BY member) FILTER (WHERE dimension = 'company') AS companies
FROM cycle_costs
WHERE cycle_id = ANY(%(cycles)s)
GROUP BY cycle_id
ORDER BY cycle_id
