-- Each company's own chart of accounts (as its accounting program exports it), its import history, and
-- the per-company map from a generic PUC sub-account to one of the company's auxiliaries.
--
-- A classified line, a remembered line and an entry line now hold the account the company books to:
-- a catalog sub-account (6 digits) for a company without a chart, one of its own accounts (an auxiliary
-- such as 51353001, always under a PUC sub-account) for a company with one. The application validates
-- every code against the company's chart or the catalog, so the foreign keys to the shipped catalog go.
ALTER TABLE classifications DROP CONSTRAINT IF EXISTS classifications_account_code_fkey;
ALTER TABLE supplier_memory DROP CONSTRAINT IF EXISTS supplier_memory_account_code_fkey;
ALTER TABLE journal_lines DROP CONSTRAINT IF EXISTS journal_lines_account_code_fkey;
ALTER TABLE classification_history DROP CONSTRAINT IF EXISTS classification_history_new_account_fkey;

CREATE TABLE IF NOT EXISTS company_accounts (
    company_nit  text NOT NULL REFERENCES companies (nit) ON DELETE CASCADE,
    code         text NOT NULL CHECK (code ~ '^[0-9]{1,12}$'),
    name         text NOT NULL,
    parent       text,                  -- the code one PUC level up (NULL for a class)
    active       boolean NOT NULL,
    movements    boolean NOT NULL,      -- accepts postings (a leaf)
    PRIMARY KEY (company_nit, code)
);

-- One row per import that changed something: what changed, from which file, by whom.
CREATE TABLE IF NOT EXISTS chart_imports (
    id           bigserial PRIMARY KEY,
    company_nit  text NOT NULL REFERENCES companies (nit) ON DELETE CASCADE,
    program      text NOT NULL,
    file_name    text NOT NULL,
    digest       text NOT NULL,         -- sha256 of the accounts as read (not of the file's bytes)
    accounts     integer NOT NULL,
    added        integer NOT NULL,
    removed      integer NOT NULL,
    changed      integer NOT NULL,
    changes      jsonb NOT NULL,        -- [{"code", "change": added|removed|changed, "what"}]
    imported_by  text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS chart_imports_company ON chart_imports (company_nit, id);

-- "Book what we classify as 513530 to 51353001": applied at export, shown on the review page.
CREATE TABLE IF NOT EXISTS company_account_map (
    company_nit   text NOT NULL REFERENCES companies (nit) ON DELETE CASCADE,
    puc_code      text NOT NULL REFERENCES puc_accounts (code),
    company_code  text NOT NULL,
    file_name     text NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_nit, puc_code)
);
