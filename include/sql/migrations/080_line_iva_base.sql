-- The IVA-taxable amount of each invoice line (its scheme-01 TaxSubtotal/TaxableAmount). For aseo,
-- vigilancia and temporary-staff services IVA is charged on the AIU only (Estatuto Tributario art.
-- 462-1), so this is the AIU their ReteFuente is computed on. NULL: a line ingested before this column.
ALTER TABLE invoice_lines ADD COLUMN IF NOT EXISTS iva_base numeric(18, 2);
