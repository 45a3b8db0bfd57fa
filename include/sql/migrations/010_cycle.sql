-- The biweekly cycle: runs, proposed journal entries, and the cost figures per cycle.

CREATE TABLE IF NOT EXISTS cycles (
    cycle_id      text PRIMARY KEY,              -- e.g. 2026-11-Q1
    period_start  date NOT NULL,
    period_end    date NOT NULL,                 -- exclusive
    last_run_id   text,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'incomplete')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

-- The proposed causación of a classified invoice: debits equal credits to the peso.
CREATE TABLE IF NOT EXISTS journal_lines (
    invoice_id    bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    seq           smallint NOT NULL,
    account_code  text NOT NULL REFERENCES puc_accounts (code),
    debit         numeric(18, 2) NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit        numeric(18, 2) NOT NULL DEFAULT 0 CHECK (credit >= 0),
    description   text NOT NULL,
    PRIMARY KEY (invoice_id, seq)
);

-- Cost figures of a cycle, one row per company, per key and one total (dimension/member).
CREATE TABLE IF NOT EXISTS cycle_costs (
    cycle_id                  text NOT NULL,
    dimension                 text NOT NULL CHECK (dimension IN ('company', 'key', 'total')),
    member                    text NOT NULL,     -- company NIT, key name, or 'all'
    invoices                  integer NOT NULL DEFAULT 0,
    classified                integer NOT NULL DEFAULT 0,
    review                    integer NOT NULL DEFAULT 0,
    pending                   integer NOT NULL DEFAULT 0,
    quarantined_files         integer NOT NULL DEFAULT 0,
    memory_lines              integer NOT NULL DEFAULT 0,
    model_lines               integer NOT NULL DEFAULT 0,
    calls                     integer NOT NULL DEFAULT 0,   -- HTTP attempts
    ok_calls                  integer NOT NULL DEFAULT 0,
    rate_limited              integer NOT NULL DEFAULT 0,
    failed_calls              integer NOT NULL DEFAULT 0,
    prompt_cache_hit_tokens   bigint NOT NULL DEFAULT 0,
    prompt_cache_miss_tokens  bigint NOT NULL DEFAULT 0,
    completion_tokens         bigint NOT NULL DEFAULT 0,
    cost_usd                  numeric(14, 8) NOT NULL DEFAULT 0,   -- exact, from api_calls
    proportional_cost_usd     numeric(14, 8),                      -- share of invoices x total
    avg_cost_per_invoice_usd  numeric(14, 8),
    computed_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cycle_id, dimension, member)
);
