INSERT INTO weekly_health (week, week_start, week_end, figures, alerts, computed_at)
VALUES (%(week)s, %(week_start)s, %(week_end)s, %(figures)s, %(alerts)s, now())
ON CONFLICT (week) DO UPDATE SET
    week_start = EXCLUDED.week_start, week_end = EXCLUDED.week_end, figures = EXCLUDED.figures,
    alerts = EXCLUDED.alerts, computed_at = now()
