-- Where the week's 429s cluster: hour of day in UTC and in Bogotá.
SELECT extract(hour FROM started_at AT TIME ZONE 'UTC')::int AS hour_utc,
       extract(hour FROM started_at AT TIME ZONE 'America/Bogota')::int AS hour_bogota,
       count(*) AS rate_limited
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s AND outcome = 'rate_limited'
GROUP BY 1, 2 ORDER BY 1, 2
