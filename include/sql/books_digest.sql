-- The state of a company-cycle's books, which is what an approval approves: every invoice carried (its
-- status and its entry's lines). It changes when an invoice joins or leaves, or an entry changes.
SELECT md5(coalesce(string_agg(i.id::text || ':' || i.status || ':' || coalesce(j.lines, ''), '|' ORDER BY i.id),
                    '')) AS digest,
       count(i.id) AS invoices
FROM invoices i
LEFT JOIN LATERAL (
    SELECT string_agg(account_code || '/' || debit::text || '/' || credit::text, ',' ORDER BY seq) AS lines
    FROM journal_lines WHERE invoice_id = i.id
) j ON true
WHERE i.company_nit = %(company_nit)s AND i.cycle_id = %(cycle_id)s
