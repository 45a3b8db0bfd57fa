-- The latest cycles with accountant actions (the trend window): up to %(cycle)s included when given,
-- and with actions before %(before)s when given (the weekly report's end).
SELECT DISTINCT cycle_id FROM classification_history
WHERE (%(cycle)s::text IS NULL OR cycle_id <= %(cycle)s)
  AND (%(before)s::timestamptz IS NULL OR changed_at < %(before)s)
ORDER BY cycle_id DESC
LIMIT %(limit)s
