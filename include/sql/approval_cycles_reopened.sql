-- A company's quincenas whose approval was reopened by a correction: the next cycle run asks again.
SELECT cycle_id FROM company_approvals
WHERE company_nit = %(company_nit)s AND decision = 'reopened'
ORDER BY cycle_id
