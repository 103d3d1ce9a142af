DROP INDEX IF EXISTS tenants_search_trgm;
