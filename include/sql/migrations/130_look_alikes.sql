-- A correction applied to the look-alike lines of another one: each line's audit row names the line it
-- was applied from (NULL for a correction made on the line itself).
ALTER TABLE classification_history
    ADD COLUMN IF NOT EXISTS applied_from_line_id bigint REFERENCES invoice_lines (id) ON DELETE SET NULL;

-- The review pages read one company's invoices of one cycle by status, and one supplier's invoices of a
-- company (look-alike lines).
CREATE INDEX IF NOT EXISTS invoices_company_cycle_status ON invoices (company_nit, cycle_id, status);
CREATE INDEX IF NOT EXISTS invoices_company_supplier ON invoices (company_nit, supplier_nit);
