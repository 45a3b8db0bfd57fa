-- A key new to the registry starts level with the least-used active key of its connection, so it
-- does not take every pick until it catches up.
INSERT INTO api_keys (name, conn_id, picks)
VALUES (
    %(name)s, %(conn_id)s,
    COALESCE((SELECT min(picks) FROM api_keys WHERE conn_id = %(conn_id)s AND status = 'active'), 0)
)
ON CONFLICT (name) DO NOTHING
