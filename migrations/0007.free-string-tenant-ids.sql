-- depends: 0006.tenant-search-column
-- Tenants imported from the platform's old service keep their ids (free strings such as demo-tenant-001),
-- because every other service has stored them. New tenants still get t_ + 16 hex.
ALTER TABLE tenants DROP CONSTRAINT tenants_id_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_id_check CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$');
