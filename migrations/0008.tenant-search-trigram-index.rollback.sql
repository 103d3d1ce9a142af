-- pg_trgm stays installed: an extension belongs to the whole database (it may have been there before, and
-- other schemas may use it), and dropping it would fail wherever anything else depends on it.
DROP INDEX IF EXISTS tenants_search_trgm;
