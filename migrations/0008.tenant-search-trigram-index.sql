-- depends: 0007.free-string-tenant-ids
-- GET /tenants?q=… (a case-insensitive substring of name, email or domain; see 0006) served by a trigram
-- GIN index, so a selective search reads a few index pages instead of every row. pg_trgm ships with
-- PostgreSQL's contrib (the embedded server has it; managed services such as RDS, Cloud SQL and Azure
-- allow it). Where it is missing or may not be created, the service works as before: q is then a
-- sequential scan, and this migration says so instead of failing.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX IF NOT EXISTS tenants_search_trgm ON tenants USING gin (search gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): q search stays a sequential scan', SQLERRM;
END
$$;
