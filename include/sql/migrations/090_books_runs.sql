-- The cycle's machine work and the accountants' approvals as separate runs; decisions as history.

-- invoices.cycle_id is the quincena whose approval and export carry the invoice (its books): the later of
-- its issue quincena and the quincena of the run that first ingested it. issue_cycle_id is the quincena of
-- its issue date; the two differ for a document that reached the inbox after its own quincena's run.
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS issue_cycle_id text;
UPDATE invoices SET issue_cycle_id = cycle_id WHERE issue_cycle_id IS NULL;  -- NULL later means "the same"

-- Every approval request made to an accountant: one per (cycle, company, state of its books).
CREATE TABLE IF NOT EXISTS approval_requests (
    request_id     text PRIMARY KEY,          -- the quincena_books run that asks
    cycle_id       text NOT NULL,
    company_nit    text NOT NULL REFERENCES companies (nit),
    books_digest   text NOT NULL,             -- the company-cycle's books when asked
    reason         text NOT NULL,             -- why it was asked (Spanish: shown in the request)
    requested_at   timestamptz NOT NULL DEFAULT now(),
    requested_by   text,                      -- the cycle run (or person) that asked
    closed_at      timestamptz,               -- when it stopped waiting
    outcome        text CHECK (outcome IN ('approved', 'rejected', 'refused', 'failed', 'superseded')),
    failed_step    text                       -- a step of its run that failed (the export, say), if any
);
CREATE INDEX IF NOT EXISTS approval_requests_company ON approval_requests (company_nit, cycle_id);

-- Every answer and every reopening, appended and never updated. The current decision of a company-cycle
-- is its latest applied row (the company_approvals view). A request's first applied answer wins: a later
-- conflicting answer to the same request is stored as refused, with the reason.
CREATE TABLE IF NOT EXISTS approval_decisions (
    id             bigserial PRIMARY KEY,
    cycle_id       text NOT NULL,
    company_nit    text NOT NULL REFERENCES companies (nit),
    decision       text NOT NULL CHECK (decision IN ('approved', 'rejected', 'reopened')),
    status         text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'refused')),
    refused_reason text,
    decided_by     text NOT NULL,             -- the person's user name ('auto' for the firm's automatic approval)
    decided_at     timestamptz NOT NULL DEFAULT now(),
    comment        text,
    run_id         text,                      -- the run whose step recorded it
    request_id     text,                      -- the request it answers; NULL for a reopening
    books_digest   text,                      -- the books it decided on
    left_out       jsonb                      -- approved with invoices still in review: [{id, number}]
);
CREATE UNIQUE INDEX IF NOT EXISTS approval_decisions_first_answer
    ON approval_decisions (request_id) WHERE status = 'applied' AND request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS approval_decisions_company ON approval_decisions (cycle_id, company_nit, id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'company_approvals') THEN
        INSERT INTO approval_decisions (cycle_id, company_nit, decision, decided_by, decided_at, comment, run_id)
        SELECT cycle_id, company_nit, decision, decided_by, decided_at, comment, run_id FROM company_approvals;
        DROP TABLE company_approvals;
    END IF;
END $$;

CREATE OR REPLACE VIEW company_approvals AS
SELECT DISTINCT ON (cycle_id, company_nit)
       cycle_id, company_nit, decision, decided_by, decided_at, comment, run_id, request_id, books_digest,
       left_out, id AS decision_id
FROM approval_decisions
WHERE status = 'applied'
ORDER BY cycle_id, company_nit, id DESC;

-- Export files that no longer match the books (the company was reopened after they were written) are
-- 'outdated' until the next approved export supersedes them. Each file row keeps a digest per voucher, so
-- a new version can say exactly which vouchers changed.
ALTER TABLE exports DROP CONSTRAINT IF EXISTS exports_status_check;
ALTER TABLE exports ADD CONSTRAINT exports_status_check CHECK (status IN ('current', 'outdated', 'superseded'));
ALTER TABLE exports ADD COLUMN IF NOT EXISTS voucher_digests jsonb;
