-- Withholdings (issue 13): the buyer's tax profile on the registry, the supplier's profile learnt from
-- its invoices, and the base/rate/concept of each withholding line of a proposed entry.

ALTER TABLE companies
    ADD COLUMN IF NOT EXISTS withholding_agent  boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS gran_contribuyente boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS reteiva_agent      boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS autorretenedor     boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS regimen            text NOT NULL DEFAULT 'ordinario'
                                                CHECK (regimen IN ('ordinario', 'simple')),
    ADD COLUMN IF NOT EXISTS ica_city           text CHECK (ica_city ~ '^[0-9]{5}$'),   -- DIVIPOLA
    ADD COLUMN IF NOT EXISTS iva_deductible     boolean NOT NULL DEFAULT true;

-- One profile per supplier NIT, whichever company bought from it (the RUT is the supplier's).
CREATE TABLE IF NOT EXISTS suppliers (
    nit                text PRIMARY KEY,
    name               text,
    person_type        text CHECK (person_type IN ('juridica', 'natural')),  -- cbc:AdditionalAccountID
    responsibilities   text[] NOT NULL DEFAULT '{}',   -- cbc:TaxLevelCode, unknown codes kept
    city_code          text,                           -- DIVIPOLA of cac:PhysicalLocation
    seen_on            date,                           -- issue date of the invoice the above came from
    declarante         boolean,                        -- NULL: the default of include/tax/concepts.json
    declarante_source  text CHECK (declarante_source IN ('import')),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE journal_lines
    ADD COLUMN IF NOT EXISTS base     numeric(18, 2),
    ADD COLUMN IF NOT EXISTS rate     numeric(9, 6),
    ADD COLUMN IF NOT EXISTS concept  text,
    ADD COLUMN IF NOT EXISTS tax      text CHECK (tax IN ('retefuente', 'reteiva', 'reteica')),
    ADD COLUMN IF NOT EXISTS why      text;
