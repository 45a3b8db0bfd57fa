-- A byte-identical copy at another path (a supplier re-sending the same e-mail) gets its own
-- ingested_files row, so every file in an inbox is accounted for; the same file at the same path
-- is still recorded once (idempotent re-ingest).
ALTER TABLE ingested_files DROP CONSTRAINT IF EXISTS ingested_files_company_nit_sha256_key;
CREATE UNIQUE INDEX IF NOT EXISTS ingested_files_company_sha256_path ON ingested_files (company_nit, sha256, path);
