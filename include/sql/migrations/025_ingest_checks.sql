-- Ingest sanity checks (issue 11): a document's content fingerprint, so the same CUFE arriving with
-- different content is caught instead of silently dropped, and the exchange rate of a foreign-currency
-- invoice (without one it goes to review).
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS content_sha256 text;
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS exchange_rate numeric(18, 6);
-- The cycle whose run met a file (NULL: a manual `quincena ingest`), so a cycle report counts its own
-- quarantined files, not every file ever refused.
ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS cycle_id text;
