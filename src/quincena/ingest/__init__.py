"""From the inbox to the database: the DIAN UBL parser and the per-company ingest."""
