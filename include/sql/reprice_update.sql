-- One repriced row: the first-billed figure and version are kept (coalesce: a second correction does
-- not lose the original), and an unchanged row is not touched, so a repeat run changes nothing.
UPDATE api_calls SET
    cost_usd_before_reprice = coalesce(cost_usd_before_reprice, cost_usd),
    price_version_before_reprice = coalesce(price_version_before_reprice, price_version),
    cost_usd = %(cost_usd)s,
    price_version = %(price_version)s,
    repriced_at = now()
WHERE id = %(id)s
  AND (cost_usd IS DISTINCT FROM %(cost_usd)s OR price_version IS DISTINCT FROM %(price_version)s)
