-- A month's reconciliation: re-running it replaces the row, never adds one.
INSERT INTO month_reconciliations (month, status, source, ledger_usd, deepseek_usd, tolerance, days, computed_at)
VALUES (%(month)s, %(status)s, %(source)s, %(ledger_usd)s, %(deepseek_usd)s, %(tolerance)s, %(days)s, now())
ON CONFLICT (month) DO UPDATE SET
    status = EXCLUDED.status, source = EXCLUDED.source, ledger_usd = EXCLUDED.ledger_usd,
    deepseek_usd = EXCLUDED.deepseek_usd, tolerance = EXCLUDED.tolerance, days = EXCLUDED.days,
    computed_at = now()
