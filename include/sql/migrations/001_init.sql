-- quincena schema v1: companies, DIAN documents, the PUC catalog, classifications,
-- the DeepSeek key registry and call ledger. Table names are a contract (README).

CREATE TABLE IF NOT EXISTS companies (
    nit                 text PRIMARY KEY CHECK (nit ~ '^[0-9]{5,15}$'),   -- digits only, no check digit
    dv                  smallint NOT NULL CHECK (dv BETWEEN 0 AND 9),     -- DIAN check digit
    name                text NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    monthly_budget_usd  numeric(12, 2) CHECK (monthly_budget_usd >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The chart of accounts shipped in include/puc/catalog.csv (loaded by `quincena db migrate`).
CREATE TABLE IF NOT EXISTS puc_accounts (
    code             text PRIMARY KEY CHECK (code ~ '^[0-9]{1,10}$'),
    name             text NOT NULL,
    level            text NOT NULL CHECK (level IN ('class', 'group', 'account', 'subaccount')),
    parent           text REFERENCES puc_accounts (code),
    purchase_target  boolean NOT NULL DEFAULT false  -- may a purchase line be debited here?
);

-- One row per file seen in a company's inbox: idempotency (same bytes = same file) and the
-- quarantine record for everything that did not become an invoice.
CREATE TABLE IF NOT EXISTS ingested_files (
    id            bigserial PRIMARY KEY,
    company_nit   text NOT NULL REFERENCES companies (nit),
    sha256        text NOT NULL,
    path          text NOT NULL,
    size_bytes    bigint NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('ingested', 'duplicate', 'quarantined')),
    reason_code   text,           -- quarantine: too_large, malformed_xml, hostile_xml, not_dian, ...
    reason        text,           -- human-readable
    documents     integer NOT NULL DEFAULT 0,   -- DIAN documents found in it (a zip may hold several)
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_nit, sha256),
    CHECK (outcome <> 'quarantined' OR reason IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS invoices (
    id                     bigserial PRIMARY KEY,
    company_nit            text NOT NULL REFERENCES companies (nit),
    cufe                   text NOT NULL,          -- cbc:UUID: CUFE (invoice) or CUDE (notes)
    doc_type               text NOT NULL CHECK (doc_type IN ('invoice', 'credit_note', 'debit_note')),
    number                 text NOT NULL,
    invoice_type_code      text,
    issue_date             date NOT NULL,
    due_date               date,
    currency               text NOT NULL,
    supplier_nit           text NOT NULL,
    supplier_dv            text,
    supplier_name          text NOT NULL,
    customer_nit           text NOT NULL,
    line_extension_amount  numeric(18, 2) NOT NULL,
    tax_exclusive_amount   numeric(18, 2) NOT NULL,
    tax_inclusive_amount   numeric(18, 2) NOT NULL,
    allowance_total_amount numeric(18, 2) NOT NULL DEFAULT 0,
    charge_total_amount    numeric(18, 2) NOT NULL DEFAULT 0,
    prepaid_amount         numeric(18, 2) NOT NULL DEFAULT 0,
    payable_amount         numeric(18, 2) NOT NULL,
    billing_reference      text,                   -- credit/debit note: CUFE of the invoice it amends
    cycle_id               text NOT NULL,          -- quincena of the issue date, e.g. 2026-11-Q1
    status                 text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'classified', 'review', 'quarantined')),
    status_reason          text,
    source_file_id         bigint REFERENCES ingested_files (id),
    source_file            text NOT NULL,
    ingested_at            timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_nit, cufe),
    CHECK (status NOT IN ('review', 'quarantined') OR status_reason IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS invoices_company_status ON invoices (company_nit, status, issue_date);
CREATE INDEX IF NOT EXISTS invoices_cycle ON invoices (cycle_id);

-- Document-level taxes (IVA 01, INC 04, ICA 03) and withholdings (ReteFuente 06, ReteIVA 05, ReteICA 07).
CREATE TABLE IF NOT EXISTS invoice_taxes (
    invoice_id      bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('tax', 'withholding')),
    seq             smallint NOT NULL,
    scheme_id       text NOT NULL,
    scheme_name     text,
    taxable_amount  numeric(18, 2) NOT NULL,
    amount          numeric(18, 2) NOT NULL,
    percent         numeric(7, 4),
    PRIMARY KEY (invoice_id, kind, seq)
);

CREATE TABLE IF NOT EXISTS invoice_lines (
    id            bigserial PRIMARY KEY,
    invoice_id    bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no       integer NOT NULL,
    description   text NOT NULL,
    item_code     text,
    quantity      numeric(18, 6) NOT NULL,
    unit_code     text,
    unit_price    numeric(18, 6) NOT NULL,
    line_total    numeric(18, 2) NOT NULL,
    tax_amount    numeric(18, 2) NOT NULL DEFAULT 0,
    tax_percent   numeric(7, 4),
    UNIQUE (invoice_id, line_no)
);

-- The DeepSeek account's keys, by NAME only: secrets live in the Airflow connection, never here.
CREATE TABLE IF NOT EXISTS api_keys (
    name             text PRIMARY KEY,
    conn_id          text NOT NULL,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_at      timestamptz,
    disabled_reason  text,
    picks            bigint NOT NULL DEFAULT 0,    -- rotation counter shared by every worker
    last_picked_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per HTTP attempt to DeepSeek (successes, 429s, errors): the cost ledger.
CREATE TABLE IF NOT EXISTS api_calls (
    id                        bigserial PRIMARY KEY,
    attempt_id                uuid NOT NULL UNIQUE,  -- idempotency: a re-recorded attempt is ignored
    call_id                   uuid NOT NULL,         -- the logical call its retries belong to
    attempt_no                integer NOT NULL,
    started_at                timestamptz NOT NULL,
    key_name                  text NOT NULL,
    model                     text NOT NULL,
    company_nit               text REFERENCES companies (nit),
    cycle_id                  text,
    purpose                   text,                  -- e.g. classify
    outcome                   text NOT NULL,         -- ok, rate_limited, server_error, timeout, ...
    status_code               integer,
    error_class               text,
    latency_ms                integer NOT NULL,
    prompt_cache_hit_tokens   integer NOT NULL DEFAULT 0,
    prompt_cache_miss_tokens  integer NOT NULL DEFAULT 0,
    completion_tokens         integer NOT NULL DEFAULT 0,
    reasoning_tokens          integer NOT NULL DEFAULT 0,
    cost_usd                  numeric(14, 8) NOT NULL DEFAULT 0,
    price_version             text
);
CREATE INDEX IF NOT EXISTS api_calls_started ON api_calls (started_at);
CREATE INDEX IF NOT EXISTS api_calls_cycle_company ON api_calls (cycle_id, company_nit);

-- One classification per invoice line, ever: reruns and retries hit ON CONFLICT.
CREATE TABLE IF NOT EXISTS classifications (
    id               bigserial PRIMARY KEY,
    invoice_line_id  bigint NOT NULL UNIQUE REFERENCES invoice_lines (id) ON DELETE CASCADE,
    invoice_id       bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    company_nit      text NOT NULL REFERENCES companies (nit),
    account_code     text NOT NULL REFERENCES puc_accounts (code),
    confidence       numeric(4, 3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    source           text NOT NULL CHECK (source IN ('model', 'memory', 'accountant')),
    model            text,
    call_id          uuid,                 -- the DeepSeek call that produced it (model source)
    cycle_id         text NOT NULL,
    rationale        text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS classifications_invoice ON classifications (invoice_id);

-- What the firm has accepted before for a supplier's line: classify from memory, no API call.
CREATE TABLE IF NOT EXISTS supplier_memory (
    company_nit      text NOT NULL REFERENCES companies (nit),
    supplier_nit     text NOT NULL,
    description_key  text NOT NULL,         -- normalized line description
    account_code     text NOT NULL REFERENCES puc_accounts (code),
    confidence       numeric(4, 3) NOT NULL,
    source           text NOT NULL CHECK (source IN ('model', 'accountant')),
    hits             integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_nit, supplier_nit, description_key)
);
