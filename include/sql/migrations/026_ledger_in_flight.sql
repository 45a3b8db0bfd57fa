-- The write-ahead ledger (issue 11): an api_calls row is written with outcome 'in_flight' before its
-- request is sent and completed once the answer is read. A row still 'in_flight' after its worker died
-- is an attempt of UNKNOWN cost (maybe billed): cycle costs count such rows apart, never as free.
ALTER TABLE cycle_costs ADD COLUMN IF NOT EXISTS in_flight_calls integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN cycle_costs.in_flight_calls IS
    'api_calls rows still in_flight: attempts whose answer was never recorded (cost unknown, not zero)';
COMMENT ON COLUMN api_calls.outcome IS
    'ok, rate_limited, server_error, timeout, connection_error, auth_failed, insufficient_balance, '
    'bad_request, bad_content, redirected; in_flight until the attempt''s answer is recorded';
CREATE INDEX IF NOT EXISTS api_calls_in_flight ON api_calls (started_at) WHERE outcome = 'in_flight';
