-- Which companies a user, or every user of a role, may see, correct and approve on the review pages and
-- in the approval step. company_nit NULL means every company. Admins need no row; anyone else sees
-- nothing until a row names them. Role names are stored lower-case (auth managers spell them freely).
CREATE TABLE IF NOT EXISTS company_access (
    id              bigserial PRIMARY KEY,
    principal_kind  text NOT NULL CHECK (principal_kind IN ('user', 'role')),
    principal       text NOT NULL CHECK (principal <> ''),
    company_nit     text REFERENCES companies (nit) ON DELETE CASCADE,
    granted_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS company_access_grant
    ON company_access (principal_kind, principal, coalesce(company_nit, '*'));
