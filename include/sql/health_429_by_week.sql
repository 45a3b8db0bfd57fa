-- Attempts and 429s per 7-day bucket counted forward from %(start)s (bucket 0 = the oldest week;
-- an attempt at a bucket's first instant belongs to that bucket, as with the data interval).
SELECT floor(extract(epoch FROM (started_at - %(start)s::timestamptz)) / 604800)::int AS bucket,
       count(*) AS calls,
       count(*) FILTER (WHERE outcome = 'rate_limited') AS rate_limited
FROM api_calls
WHERE started_at >= %(start)s AND started_at < %(end)s
GROUP BY 1 ORDER BY 1
