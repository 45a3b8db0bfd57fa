-- What an invoice says about its supplier; the newest invoice wins; the firm's declarante flag is kept.
INSERT INTO suppliers (nit, name, person_type, responsibilities, city_code, seen_on)
VALUES (%(nit)s, %(name)s, %(person_type)s, %(responsibilities)s, %(city_code)s, %(seen_on)s)
ON CONFLICT (nit) DO UPDATE
SET name = EXCLUDED.name, person_type = EXCLUDED.person_type, responsibilities = EXCLUDED.responsibilities,
    city_code = EXCLUDED.city_code, seen_on = EXCLUDED.seen_on, updated_at = now()
WHERE suppliers.seen_on IS NULL OR EXCLUDED.seen_on >= suppliers.seen_on
