SELECT month, status, source, ledger_usd, deepseek_usd, tolerance, days, computed_at
FROM month_reconciliations WHERE month = %(month)s
