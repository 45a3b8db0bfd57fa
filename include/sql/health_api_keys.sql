SELECT name, status, disabled_at, disabled_reason FROM api_keys ORDER BY name
