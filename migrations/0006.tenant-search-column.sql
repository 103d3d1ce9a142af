-- depends: 0005.signup-nonces
-- GET /tenants?q=… is a case-insensitive substring search over name, email and domain. pg_trgm is not
-- available everywhere (not in the embedded build), so the lowered text is computed once per write into a
-- byte-collated column: the scan then runs one cheap LIKE per row instead of three lower() calls.
-- Fields are joined by a newline, which the service refuses in q, so a match never spans two fields.
ALTER TABLE tenants ADD COLUMN search text COLLATE "C"
    GENERATED ALWAYS AS (lower(name) || chr(10) || lower(coalesce(email, '')) || chr(10) || lower(coalesce(domain, '')))
    STORED;
