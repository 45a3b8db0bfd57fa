-- Export to the accounting programs (issue 14): stable voucher numbers and a record of every file written.

-- One voucher (comprobante) per invoice, numbered consecutively per company and voucher type; a number
-- is assigned once and never changes, so re-exporting an invoice gives it the same number.
CREATE TABLE IF NOT EXISTS voucher_numbers (
    company_nit   text NOT NULL REFERENCES companies (nit),
    voucher_type  text NOT NULL,
    invoice_id    bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    number        integer NOT NULL CHECK (number > 0),
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_nit, voucher_type, invoice_id),
    UNIQUE (company_nit, voucher_type, number)
);

-- Every file an export wrote. A company-cycle-format export whose data changed (a correction) gets a new
-- version; the files of the older version are marked superseded, never overwritten.
CREATE TABLE IF NOT EXISTS exports (
    id             bigserial PRIMARY KEY,
    company_nit    text NOT NULL REFERENCES companies (nit),
    cycle_id       text NOT NULL,
    format         text NOT NULL,                 -- template name: siigo, worldoffice, helisa, csv, ...
    version        integer NOT NULL CHECK (version > 0),
    part           integer NOT NULL CHECK (part > 0),   -- files of one version split at the row limit
    parts          integer NOT NULL CHECK (parts >= part),
    file_name      text NOT NULL,
    path           text NOT NULL,
    vouchers       integer NOT NULL,
    lines          integer NOT NULL,
    first_voucher  integer,
    last_voucher   integer,
    sha256         text NOT NULL,                 -- of the file's bytes
    content_hash   text NOT NULL,                 -- of the version's data (template + rows): what "changed" means
    status         text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'superseded')),
    superseded_at  timestamptz,
    superseded_by  integer,                       -- the version that replaced it
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL,                 -- 'run:<dag run id>' or 'cli:<os user>'
    run_id         text,
    UNIQUE (company_nit, cycle_id, format, version, part)
);
CREATE INDEX IF NOT EXISTS exports_cycle ON exports (cycle_id, company_nit, format);
