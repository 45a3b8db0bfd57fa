"""Our side of the DeepSeek provider: PostgreSQL key store, attempt ledger, the pipeline's hook."""
