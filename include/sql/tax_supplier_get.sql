SELECT nit, name, person_type, responsibilities, city_code, declarante, declarante_source
FROM suppliers WHERE nit = %(nit)s
