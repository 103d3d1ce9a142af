DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS tenants;
DROP FUNCTION IF EXISTS tenants_touch_updated_at();
