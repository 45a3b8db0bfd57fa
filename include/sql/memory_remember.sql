-- An accountant's correction is never overwritten by a model's answer.
INSERT INTO supplier_memory (company_nit, supplier_nit, description_key, account_code, confidence, source)
VALUES (%(company_nit)s, %(supplier_nit)s, %(description_key)s, %(account)s, %(confidence)s, %(source)s)
ON CONFLICT (company_nit, supplier_nit, description_key) DO UPDATE
SET account_code = EXCLUDED.account_code, confidence = EXCLUDED.confidence,
    source = EXCLUDED.source, updated_at = now()
WHERE supplier_memory.source <> 'accountant' OR EXCLUDED.source = 'accountant'
