SELECT sha256 FROM ingested_files WHERE company_nit = %(company_nit)s
