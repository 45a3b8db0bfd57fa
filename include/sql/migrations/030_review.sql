-- The accountant's loop (issue 12), shared by review, export (issue 14) and evaluation (issue 16).

-- A company's sign-off for a quincena: what the approval step (Airflow HITL) decided.
CREATE TABLE IF NOT EXISTS company_approvals (
    cycle_id      text NOT NULL,
    company_nit   text NOT NULL REFERENCES companies (nit),
    decision      text NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by    text NOT NULL,          -- the Airflow user (or 'auto' when the firm approves empty worklists)
    decided_at    timestamptz NOT NULL DEFAULT now(),
    comment       text,
    run_id        text,                   -- the DAG run whose approval step decided
    PRIMARY KEY (cycle_id, company_nit)
);

-- Every accountant action on a line's account: who, when, old and new (never updated, only appended).
CREATE TABLE IF NOT EXISTS classification_history (
    id               bigserial PRIMARY KEY,
    invoice_id       bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    invoice_line_id  bigint NOT NULL REFERENCES invoice_lines (id) ON DELETE CASCADE,
    company_nit      text NOT NULL REFERENCES companies (nit),
    cycle_id         text NOT NULL,
    action           text NOT NULL CHECK (action IN ('kept', 'changed', 'filled', 'approved_invoice')),
    old_account      text,                 -- the proposal (NULL when the model proposed nothing)
    old_source       text,                 -- model / memory / accountant
    new_account      text REFERENCES puc_accounts (code),
    changed_by       text NOT NULL,        -- Airflow user name, or 'import:<file>' for a CSV import
    changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS classification_history_invoice ON classification_history (invoice_id);
CREATE INDEX IF NOT EXISTS classification_history_cycle ON classification_history (cycle_id, company_nit);

-- What produced a model classification, so quality can be compared across models and prompts.
ALTER TABLE classifications ADD COLUMN IF NOT EXISTS prompt_version text;
