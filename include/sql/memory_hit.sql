UPDATE supplier_memory SET hits = hits + 1
WHERE company_nit = %(company_nit)s AND supplier_nit = %(supplier_nit)s AND description_key = %(description_key)s
