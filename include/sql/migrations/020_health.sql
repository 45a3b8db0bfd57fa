-- The weekly DeepSeek health report: one row per week (upserted, so a re-run replaces it).

CREATE TABLE IF NOT EXISTS weekly_health (
    week         text PRIMARY KEY CHECK (week ~ '^[0-9]{4}-W[0-9]{2}$'),   -- ISO week, Bogotá calendar
    week_start   timestamptz NOT NULL,
    week_end     timestamptz NOT NULL,                                     -- exclusive
    figures      jsonb NOT NULL,     -- every figure of the report (key names only, never a secret)
    alerts       jsonb NOT NULL DEFAULT '[]'::jsonb,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (week_end > week_start)
);
