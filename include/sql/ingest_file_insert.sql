-- One row per file (content and path) per company; a concurrent or repeated insert gets no row back.
INSERT INTO ingested_files (company_nit, sha256, path, size_bytes, outcome, reason_code, reason, documents, cycle_id)
VALUES (%(company_nit)s, %(sha256)s, %(path)s, %(size_bytes)s, %(outcome)s, %(reason_code)s, %(reason)s,
        %(documents)s, %(cycle_id)s)
ON CONFLICT (company_nit, sha256, path) DO NOTHING
RETURNING id
