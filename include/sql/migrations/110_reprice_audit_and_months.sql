-- A repriced call keeps the figure and price version it was first billed at (never silently
-- rewritten); a month's reconciliation is kept so each client statement can say where it stands.
ALTER TABLE api_calls ADD COLUMN IF NOT EXISTS cost_usd_before_reprice numeric(14, 8);
ALTER TABLE api_calls ADD COLUMN IF NOT EXISTS price_version_before_reprice text;
ALTER TABLE api_calls ADD COLUMN IF NOT EXISTS repriced_at timestamptz;

CREATE TABLE IF NOT EXISTS month_reconciliations (
    month         text PRIMARY KEY,                 -- YYYY-MM, UTC days as DeepSeek bills them
    status        text NOT NULL CHECK (status IN ('reconciled', 'differences', 'missing export')),
    source        text,                             -- the export file, when there was one
    ledger_usd    numeric(14, 8) NOT NULL,
    deepseek_usd  numeric(14, 8),
    tolerance     numeric(8, 6) NOT NULL,
    days          jsonb NOT NULL,                   -- per UTC day: ledger, DeepSeek, difference, flag, cause
    computed_at   timestamptz NOT NULL DEFAULT now()
);
