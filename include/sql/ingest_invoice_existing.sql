-- The stored document with this CUFE: compared with a new file's copy of it.
SELECT id, number, source_file, content_sha256, status FROM invoices
WHERE company_nit = %(company_nit)s AND cufe = %(cufe)s
