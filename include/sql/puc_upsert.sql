INSERT INTO puc_accounts (code, name, level, parent, purchase_target)
VALUES (%(code)s, %(name)s, %(level)s, %(parent)s, %(purchase_target)s)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, level = EXCLUDED.level, parent = EXCLUDED.parent,
    purchase_target = EXCLUDED.purchase_target
