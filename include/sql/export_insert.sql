INSERT INTO exports (company_nit, cycle_id, format, version, part, parts, file_name, path, vouchers, lines,
                     first_voucher, last_voucher, sha256, content_hash, created_by, run_id, voucher_digests)
VALUES (%(company_nit)s, %(cycle_id)s, %(format)s, %(version)s, %(part)s, %(parts)s, %(file_name)s, %(path)s,
        %(vouchers)s, %(lines)s, %(first_voucher)s, %(last_voucher)s, %(sha256)s, %(content_hash)s,
        %(created_by)s, %(run_id)s, %(voucher_digests)s)
ON CONFLICT (company_nit, cycle_id, format, version, part) DO NOTHING
