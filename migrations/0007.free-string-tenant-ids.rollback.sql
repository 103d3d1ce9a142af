ALTER TABLE tenants DROP CONSTRAINT tenants_id_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_id_check CHECK (id ~ '^t_[0-9a-f]{16}$') NOT VALID;
