ALTER TABLE idempotency_keys DROP COLUMN sealed_api_key, DROP COLUMN key_id;
