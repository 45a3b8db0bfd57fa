SELECT name, conn_id, status, picks, last_picked_at, disabled_at, disabled_reason
FROM api_keys
ORDER BY conn_id, name
