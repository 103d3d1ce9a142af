ALTER TABLE tenants DROP COLUMN search;
