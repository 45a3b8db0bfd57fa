-- The firm's override of a supplier's declarante flag (quincena suppliers import).
INSERT INTO suppliers (nit, name, declarante, declarante_source)
VALUES (%(nit)s, %(name)s, %(declarante)s, 'import')
ON CONFLICT (nit) DO UPDATE
SET declarante = EXCLUDED.declarante, declarante_source = 'import',
    name = COALESCE(suppliers.name, EXCLUDED.name), updated_at = now()
