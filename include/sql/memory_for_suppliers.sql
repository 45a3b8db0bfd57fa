SELECT supplier_nit, description_key, account_code, confidence, source
FROM supplier_memory
WHERE company_nit = %(company_nit)s AND supplier_nit = ANY(%(supplier_nits)s)
